package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/feedback/internal/domain"
)

func (t Tx) AddGoodwill(ctx context.Context, g domain.Goodwill) error {
	status := ""
	if g.RewardID != "" {
		status = string(domain.RewardPending)
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO goodwill_grants (case_id, member_id, points, reward_id, reason, granted_by, granted_at,
			reward_status, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8::text <> '' THEN $7::timestamptz END)`,
		g.CaseID, g.MemberID, g.Points, g.RewardID, g.Reason, g.GrantedBy, g.GrantedAt, status)
	if pg.IsUniqueViolation(err, "goodwill_grants_pkey") {
		return domain.ErrGoodwillAlreadyGranted
	}
	if err != nil {
		return fmt.Errorf("goodwill grant: %w", err)
	}
	return nil
}

// goodwillRewardColumns, of goodwill_grants named g, are read by scanGoodwillReward.
const goodwillRewardColumns = `g.case_id::text, g.member_id, g.reward_id, g.reason, g.reward_status, g.attempts,
	g.coupon_id, g.reward_name, g.value_minor, g.currency, g.expires_at, g.reward_error, g.updated_at`

func scanGoodwillReward(row pgx.CollectableRow) (domain.GoodwillReward, error) {
	var (
		r       domain.GoodwillReward
		expires *time.Time
	)
	err := row.Scan(&r.CaseID, &r.MemberID, &r.RewardID, &r.Reason, &r.Status, &r.Attempts, &r.CouponID,
		&r.RewardName, &r.ValueMinor, &r.Currency, &expires, &r.Error, &r.UpdatedAt)
	if expires != nil {
		r.ExpiresAt = *expires
	}
	return r, err
}

func (t Tx) ClaimGoodwillRewards(ctx context.Context, now, leaseUntil time.Time, limit int) ([]domain.GoodwillReward, error) {
	rows, err := t.tx.Query(ctx, `
		WITH due AS (
			SELECT case_id FROM goodwill_grants
			WHERE reward_status = 'pending' AND next_attempt_at <= $1
			ORDER BY next_attempt_at
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		)
		UPDATE goodwill_grants g SET attempts = g.attempts + 1, next_attempt_at = $2
		FROM due WHERE g.case_id = due.case_id
		RETURNING `+goodwillRewardColumns, now, leaseUntil, limit)
	if err != nil {
		return nil, fmt.Errorf("claim goodwill rewards: %w", err)
	}
	return pgx.CollectRows(rows, scanGoodwillReward)
}

func (t Tx) RecordGoodwillReward(ctx context.Context, r domain.GoodwillReward, next time.Time) (bool, error) {
	var nextAt *time.Time
	if r.Status == domain.RewardPending {
		nextAt = &next
	}
	var expires *time.Time
	if !r.ExpiresAt.IsZero() {
		expires = &r.ExpiresAt
	}
	tag, err := t.tx.Exec(ctx, `
		UPDATE goodwill_grants SET reward_status = $3, next_attempt_at = $4, coupon_id = $5, reward_name = $6,
			value_minor = $7, currency = $8, expires_at = $9, reward_error = $10, updated_at = $11
		WHERE case_id = $1 AND attempts = $2 AND reward_status = 'pending'`,
		r.CaseID, r.Attempts, string(r.Status), nextAt, r.CouponID, r.RewardName, r.ValueMinor, r.Currency, expires,
		r.Error, r.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("record goodwill reward: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

func (s *Store) GoodwillReward(ctx context.Context, caseID string) (*domain.GoodwillReward, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+goodwillRewardColumns+` FROM goodwill_grants g
		WHERE g.case_id = $1 AND g.reward_id <> ''`, caseID)
	if err != nil {
		return nil, fmt.Errorf("goodwill reward: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanGoodwillReward)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("goodwill reward: %w", err)
	}
	return &r, nil
}

// memberGoodwill reads the grants to a member, oldest first.
func memberGoodwill(ctx context.Context, q querier, memberID string) ([]domain.MemberGoodwill, error) {
	rows, err := q.Query(ctx, `SELECT g.points, g.granted_at, `+goodwillRewardColumns+` FROM goodwill_grants g
		WHERE g.member_id = $1 AND g.member_id <> '' ORDER BY g.granted_at, g.case_id`, memberID)
	if err != nil {
		return nil, fmt.Errorf("member's goodwill: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.MemberGoodwill, error) {
		var (
			g       domain.MemberGoodwill
			expires *time.Time
		)
		r := &g.Reward
		err := row.Scan(&g.Points, &g.GrantedAt, &r.CaseID, &r.MemberID, &r.RewardID, &r.Reason, &r.Status, &r.Attempts,
			&r.CouponID, &r.RewardName, &r.ValueMinor, &r.Currency, &expires, &r.Error, &r.UpdatedAt)
		if expires != nil {
			r.ExpiresAt = *expires
		}
		g.CaseID, g.Reason = r.CaseID, r.Reason
		return g, err
	})
}
