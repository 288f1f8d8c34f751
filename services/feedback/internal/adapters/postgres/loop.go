package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/feedback/internal/domain"
)

func referralCodes(ctx context.Context, q querier, memberIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(memberIDs) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT member_id, code FROM referral_codes WHERE member_id = ANY($1::text[]) AND NOT erased`, memberIDs)
	if err != nil {
		return nil, err
	}
	var member, code string
	_, err = pgx.ForEachRow(rows, []any{&member, &code}, func() error {
		out[member] = code
		return nil
	})
	return out, err
}

func (s *Store) ReferralCodes(ctx context.Context, memberIDs []string) (map[string]string, error) {
	return referralCodes(ctx, s.db.Pool, memberIDs)
}

func (t Tx) ReferralCodes(ctx context.Context, memberIDs []string) (map[string]string, error) {
	return referralCodes(ctx, t.tx, memberIDs)
}

func (t Tx) SaveReferralCodes(ctx context.Context, codes []domain.ReferralCode) error {
	members, values := make([]string, len(codes)), make([]string, len(codes))
	for i, c := range codes {
		members[i], values[i] = c.MemberID, c.Code
	}
	// Of a member named twice in the batch, the last code counts (they are the same: a
	// code never changes).
	_, err := t.tx.Exec(ctx, `
		INSERT INTO referral_codes (member_id, code)
		SELECT DISTINCT ON (m) m, c FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(m, c, i) ORDER BY m, i DESC
		ON CONFLICT (member_id) DO UPDATE SET code = EXCLUDED.code, updated_at = now()
		WHERE NOT referral_codes.erased AND referral_codes.code <> EXCLUDED.code`, members, values)
	return err
}

func (t Tx) ForgetReferralCodes(ctx context.Context, memberIDs []string) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO referral_codes (member_id, code, erased) SELECT DISTINCT unnest($1::text[]), '', true
		ON CONFLICT (member_id) DO UPDATE SET code = '', erased = true, updated_at = now()`, memberIDs)
	return err
}

func (t Tx) AddFollowUps(ctx context.Context, followUps []domain.FollowUp) ([]domain.FollowUp, error) {
	if len(followUps) == 0 {
		return nil, nil
	}
	n := len(followUps)
	cases, responses, kinds, solved := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	scores, satisfied, received := make([]int32, n), make([]bool, n), make([]time.Time, n)
	for i, f := range followUps {
		cases[i], responses[i], kinds[i], solved[i] = f.CaseID, f.ResponseID, string(f.ScoreKind), f.Solved
		scores[i], satisfied[i], received[i] = int32(f.Score), f.Satisfied, f.ReceivedAt
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO case_follow_ups (case_id, response_id, score, score_kind, satisfied, solved, received_at)
		SELECT u.c, u.r, u.s, u.k, u.sat, u.sol, u.at
		FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::bool[], $6::text[], $7::timestamptz[])
			AS u(c, r, s, k, sat, sol, at)
		WHERE EXISTS (SELECT FROM cases WHERE cases.case_id = u.c)
		ON CONFLICT (case_id) DO UPDATE SET response_id = EXCLUDED.response_id, score = EXCLUDED.score,
			score_kind = EXCLUDED.score_kind, satisfied = EXCLUDED.satisfied, solved = EXCLUDED.solved,
			received_at = EXCLUDED.received_at
		-- A case keeps the answer to its latest resolution: a new answer replaces the kept
		-- one only when the case was resolved again after that one arrived (reopened by it).
		WHERE EXCLUDED.received_at > case_follow_ups.received_at
			AND (SELECT resolved_at FROM cases WHERE cases.case_id = EXCLUDED.case_id) > case_follow_ups.received_at
		RETURNING response_id, received_at`, cases, responses, scores, kinds, satisfied, solved, received)
	if err != nil {
		return nil, err
	}
	stored := map[string]time.Time{}
	var id string
	var at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error {
		stored[id] = at
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]domain.FollowUp, 0, len(stored))
	for _, f := range followUps {
		if at, ok := stored[f.ResponseID]; ok {
			f.ReceivedAt = at
			out = append(out, f)
			delete(stored, f.ResponseID)
		}
	}
	return out, nil
}

func (s *Store) FollowUps(ctx context.Context, caseIDs []string) (map[string]domain.FollowUp, error) {
	out := map[string]domain.FollowUp{}
	rows, err := s.db.Pool.Query(ctx, `
		SELECT case_id::text, response_id, score, score_kind, satisfied, solved, received_at
		FROM case_follow_ups WHERE case_id = ANY($1::uuid[])`, caseIDs)
	if err != nil {
		return nil, err
	}
	var f domain.FollowUp
	_, err = pgx.ForEachRow(rows, []any{&f.CaseID, &f.ResponseID, &f.Score, &f.ScoreKind, &f.Satisfied, &f.Solved, &f.ReceivedAt}, func() error {
		f.ReceivedAt = f.ReceivedAt.UTC()
		out[f.CaseID] = f
		return nil
	})
	return out, err
}
