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

// loyaltyDetail is a member_events row's detail.
type loyaltyDetail struct {
	Points    int64  `json:"points,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Reference string `json:"reference,omitempty"`
	FromTier  string `json:"from_tier,omitempty"`
	ToTier    string `json:"to_tier,omitempty"`
}

func (t Tx) KeepLoyaltyEvents(ctx context.Context, events []app.LoyaltyEvent) error {
	n := len(events)
	keys, members, kinds, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	deltas, at := make([]int64, n), make([]time.Time, n)
	for i, e := range events {
		d, err := json.Marshal(loyaltyDetail{Points: e.Points, Reason: e.Reason, Reference: e.Reference, FromTier: e.FromTier, ToTier: e.ToTier})
		if err != nil {
			return err
		}
		keys[i], members[i], kinds[i], details[i], deltas[i], at[i] = e.Key, e.MemberID, e.Kind, string(d), e.Delta(), e.At
	}
	// Only the events recorded now count: a key seen before adds nothing. A member the
	// copy does not hold yet gets a row of their points (its updated_at far in the past,
	// so the member's announcement fills in the rest).
	_, err := t.tx.Exec(ctx, `
		WITH added AS (
			INSERT INTO member_events (event_key, member_id, at, kind, detail, delta)
			SELECT k, m, a, kd, d::jsonb, p
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[]) AS x(k, m, kd, d, p, a)
			WHERE NOT EXISTS (SELECT 1 FROM erased_members e WHERE e.member_id = x.m)
			ON CONFLICT (event_key) DO NOTHING
			RETURNING member_id, delta
		), sums AS (
			SELECT member_id, sum(delta)::bigint AS delta FROM added GROUP BY member_id HAVING sum(delta) <> 0
		)
		INSERT INTO members AS k (member_id, updated_at, points)
		SELECT member_id, '-infinity', delta FROM sums
		ON CONFLICT (member_id) DO UPDATE SET points = k.points + EXCLUDED.points`,
		keys, members, kinds, details, deltas, at)
	if err != nil {
		return fmt.Errorf("keep loyalty events: %w", err)
	}
	return nil
}
