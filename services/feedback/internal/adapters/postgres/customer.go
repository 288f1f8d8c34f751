package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/feedback/internal/app"
)

func (s *Store) Customer(ctx context.Context, memberID string) (*app.Customer, error) {
	var c app.Customer
	err := s.db.Pool.QueryRow(ctx, `
		SELECT display_name, email, phone, tier, locale, points FROM members WHERE member_id = $1`, memberID).
		Scan(&c.DisplayName, &c.Email, &c.Phone, &c.Tier, &c.Locale, &c.Points)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("customer: %w", err)
	}
	return &c, nil
}

// memberEventDetail is a member_events row's detail.
type memberEventDetail struct {
	Points    int64  `json:"points,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Reference string `json:"reference,omitempty"`
	FromTier  string `json:"from_tier,omitempty"`
	ToTier    string `json:"to_tier,omitempty"`
	// a response's
	ResponseID    string `json:"response_id,omitempty"`
	Score         int    `json:"score,omitempty"`
	ScoreKind     string `json:"score_kind,omitempty"`
	Comment       string `json:"comment,omitempty"`
	Touchpoint    string `json:"touchpoint,omitempty"`
	StoreID       string `json:"store_id,omitempty"`
	TouchpointKey string `json:"touchpoint_key,omitempty"`
}

func (t Tx) KeepMemberEvents(ctx context.Context, events []app.MemberEvent) error {
	n := len(events)
	keys, members, kinds, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	deltas, at := make([]int64, n), make([]time.Time, n)
	for i, e := range events {
		detail := memberEventDetail{Points: e.Points, Reason: e.Reason, Reference: e.Reference, FromTier: e.FromTier, ToTier: e.ToTier}
		if r := e.Response; r != nil {
			detail.ResponseID, detail.Score, detail.ScoreKind, detail.Comment = r.ResponseID, r.Score, r.ScoreKind, r.Comment
			detail.Touchpoint, detail.StoreID, detail.TouchpointKey = r.Touchpoint, r.StoreID, r.TouchpointKey
		}
		d, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		keys[i], members[i], kinds[i], details[i], deltas[i], at[i] = e.Key, e.MemberID, e.Kind, string(d), e.Delta(), e.At
	}
	// The lock and the check of ErasedMembers: an erasure committing meanwhile waits.
	erased, err := t.ErasedMembers(ctx, members)
	if err != nil {
		return err
	}
	var responses, touchpoints []string
	for i, e := range events {
		if erased[e.MemberID] {
			keys[i] = "" // not kept
			continue
		}
		if r := e.Response; r != nil && r.TouchpointKey != "" {
			responses, touchpoints = append(responses, r.ResponseID), append(touchpoints, r.TouchpointKey)
		}
		if e.MemberID == "" {
			keys[i] = "" // a response without a member: only its touchpoint
		}
	}
	if len(responses) > 0 {
		if _, err := t.tx.Exec(ctx, `
			INSERT INTO response_touchpoints (response_id, touchpoint_key)
			SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, responses, touchpoints); err != nil {
			return fmt.Errorf("keep touchpoints: %w", err)
		}
	}
	// Only the events recorded now count: a key seen before adds nothing. A member the
	// copy does not hold yet gets a row of their points (its updated_at far in the past,
	// so the member's announcement fills in the rest).
	_, err = t.tx.Exec(ctx, `
		WITH added AS (
			INSERT INTO member_events (event_key, member_id, at, kind, detail, delta)
			SELECT k, m, a, kd, d::jsonb, p
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[]) AS x(k, m, kd, d, p, a)
			WHERE k <> ''
			ON CONFLICT (event_key) DO NOTHING
			RETURNING member_id, delta
		), sums AS (
			SELECT member_id, sum(delta)::bigint AS delta FROM added GROUP BY member_id HAVING sum(delta) <> 0
		)
		INSERT INTO members AS k (member_id, updated_at, points)
		SELECT member_id, '-infinity', delta FROM sums ORDER BY member_id -- the order UpsertMembers takes rows in
		ON CONFLICT (member_id) DO UPDATE SET points = k.points + EXCLUDED.points`,
		keys, members, kinds, details, deltas, at)
	if err != nil {
		return fmt.Errorf("keep loyalty events: %w", err)
	}
	return nil
}

func (s *Store) Timeline(ctx context.Context, memberID string, after *app.TimelineCursor, limit int) ([]app.TimelineEntry, error) {
	var at *time.Time
	key := ""
	if after != nil {
		at, key = &after.At, after.Key
	}
	// Keys: e: a member event, h: a move of a case, n: a note (ids padded, so that the
	// text order of one instant is stable).
	rows, err := s.db.Pool.Query(ctx, `
		SELECT at, kind, key, detail, case_id, team, action, from_status, to_status, note, by_whom FROM (
			SELECT at, kind, 'e:' || event_key AS key, detail, '' AS case_id, '' AS team, '' AS action,
				'' AS from_status, '' AS to_status, '' AS note, '' AS by_whom
			FROM member_events WHERE member_id = $1
			UNION ALL
			SELECT h.at, 'case', 'h:' || lpad(h.id::text, 20, '0'), '{}'::jsonb, c.case_id::text, c.team, h.action,
				h.from_status, h.to_status, h.note, h.by_whom
			FROM case_history h JOIN cases c ON c.case_id = h.case_id WHERE c.member_id = $1
			UNION ALL
			SELECT n.at, 'note', 'n:' || lpad(n.id::text, 20, '0'), '{}'::jsonb, c.case_id::text, c.team, '',
				'', '', n.text, n.by_whom
			FROM case_notes n JOIN cases c ON c.case_id = n.case_id WHERE c.member_id = $1
		) t
		WHERE $2::timestamptz IS NULL OR (at, key) < ($2::timestamptz, $3::text)
		ORDER BY at DESC, key DESC
		LIMIT $4`, memberID, at, key, limit)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	defer rows.Close()
	var out []app.TimelineEntry
	for rows.Next() {
		var e app.TimelineEntry
		var raw []byte
		if err := rows.Scan(&e.At, &e.Kind, &e.Key, &raw, &e.CaseID, &e.Team, &e.Action, &e.FromStatus, &e.ToStatus, &e.Note, &e.By); err != nil {
			return nil, fmt.Errorf("timeline: %w", err)
		}
		var d memberEventDetail
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("timeline detail: %w", err)
		}
		e.Points, e.Reason, e.Reference, e.FromTier, e.ToTier = d.Points, d.Reason, d.Reference, d.FromTier, d.ToTier
		if e.Kind == app.MemberResponse {
			e.Response = &app.ResponseFacts{ResponseID: d.ResponseID, Score: d.Score, ScoreKind: d.ScoreKind, Comment: d.Comment,
				Touchpoint: d.Touchpoint, StoreID: d.StoreID, TouchpointKey: d.TouchpointKey}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) TouchpointKey(ctx context.Context, responseID string) (string, error) {
	var key string
	err := s.db.Pool.QueryRow(ctx, `SELECT touchpoint_key FROM response_touchpoints WHERE response_id = $1`, responseID).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("touchpoint key: %w", err)
	}
	return key, nil
}
