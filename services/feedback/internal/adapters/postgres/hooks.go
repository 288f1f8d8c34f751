package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

const subscriptionColumns = `subscription_id::text, url, event_types, description, secret, coalesce(previous_secret, ''),
	previous_secret_until, active, created_at, rotated_at`

func scanSubscription(row pgx.CollectableRow) (domain.Subscription, error) {
	var (
		s              domain.Subscription
		until, rotated *time.Time
	)
	err := row.Scan(&s.ID, &s.URL, &s.EventTypes, &s.Description, &s.Secret, &s.PreviousSecret, &until, &s.Active, &s.CreatedAt, &rotated)
	if until != nil {
		s.PreviousUntil = *until
	}
	if rotated != nil {
		s.RotatedAt = *rotated
	}
	return s, err
}

const deliveryColumns = `d.delivery_id::text, d.subscription_id::text, d.event_id, d.event_type, d.body, d.status, d.attempts,
	d.next_attempt_at, d.created_at, d.delivered_at, d.last_status_code, d.last_error`

func scanDelivery(row pgx.Row, extra ...any) (domain.WebhookDelivery, error) {
	var (
		d         domain.WebhookDelivery
		delivered *time.Time
	)
	err := row.Scan(append([]any{&d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.Body, &d.Status, &d.Attempts,
		&d.NextAttemptAt, &d.CreatedAt, &delivered, &d.LastStatusCode, &d.LastError}, extra...)...)
	if delivered != nil {
		d.DeliveredAt = *delivered
	}
	return d, err
}

func (t Tx) AddSubscription(ctx context.Context, s domain.Subscription) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO webhook_subscriptions (subscription_id, url, event_types, description, secret, active, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.ID, s.URL, s.EventTypes, s.Description, s.Secret, s.Active, s.CreatedAt)
	return err
}

func (t Tx) LockSubscription(ctx context.Context, id string) (domain.Subscription, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE subscription_id = $1 FOR UPDATE`, id)
	return oneSubscription(rows, err)
}

func oneSubscription(rows pgx.Rows, err error) (domain.Subscription, error) {
	if err != nil {
		return domain.Subscription{}, err
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanSubscription)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Subscription{}, domain.ErrSubscriptionNotFound
	}
	return s, err
}

func (t Tx) SaveSubscription(ctx context.Context, s domain.Subscription) error {
	var prev *string
	var until, rotated *time.Time
	if s.PreviousSecret != "" {
		prev, until = &s.PreviousSecret, &s.PreviousUntil
	}
	if !s.RotatedAt.IsZero() {
		rotated = &s.RotatedAt
	}
	_, err := t.tx.Exec(ctx, `UPDATE webhook_subscriptions
		SET secret = $2, previous_secret = $3, previous_secret_until = $4, rotated_at = $5, active = $6
		WHERE subscription_id = $1`, s.ID, s.Secret, prev, until, rotated, s.Active)
	return err
}

func (t Tx) ActiveSubscriptions(ctx context.Context) ([]domain.Subscription, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE active`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanSubscription)
}

func (t Tx) AddDeliveries(ctx context.Context, ds []domain.WebhookDelivery) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	n := len(ds)
	ids, subs, events, types := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	bodies, due, created := make([][]byte, n), make([]time.Time, n), make([]time.Time, n)
	members := make([]string, n)
	for i, d := range ds {
		ids[i], subs[i], events[i], types[i] = d.ID, d.SubscriptionID, d.EventID, d.EventType
		bodies[i], due[i], created[i], members[i] = d.Body, d.NextAttemptAt, d.CreatedAt, d.MemberID
	}
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO webhook_deliveries (delivery_id, subscription_id, event_id, event_type, body, next_attempt_at, created_at, member_id)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bytea[], $6::timestamptz[], $7::timestamptz[], $8::text[])
		ON CONFLICT (subscription_id, event_id) DO NOTHING`, ids, subs, events, types, bodies, due, created, members)
	if err != nil {
		return 0, fmt.Errorf("queue webhook deliveries: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func (t Tx) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]app.DueDelivery, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+deliveryColumns+`, s.subscription_id::text, s.url, s.event_types, s.description, s.secret,
		coalesce(s.previous_secret, ''), s.previous_secret_until, s.active, s.created_at, s.rotated_at
		FROM webhook_deliveries d JOIN webhook_subscriptions s USING (subscription_id)
		WHERE d.status = 'PENDING' AND d.next_attempt_at <= $1 AND s.active
		ORDER BY d.next_attempt_at
		LIMIT $2
		FOR UPDATE OF d SKIP LOCKED`, now, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.DueDelivery, error) {
		var (
			due            app.DueDelivery
			until, rotated *time.Time
			s              = &due.Subscription
		)
		var err error
		due.WebhookDelivery, err = scanDelivery(row, &s.ID, &s.URL, &s.EventTypes, &s.Description, &s.Secret, &s.PreviousSecret,
			&until, &s.Active, &s.CreatedAt, &rotated)
		if until != nil {
			s.PreviousUntil = *until
		}
		if rotated != nil {
			s.RotatedAt = *rotated
		}
		return due, err
	})
}

func (t Tx) ClaimDelivery(ctx context.Context, id string, leaseUntil time.Time) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $2
		WHERE delivery_id = $1 RETURNING attempts`, id, leaseUntil).Scan(&n)
	return n, err
}

func (t Tx) RecordAttempt(ctx context.Context, id string, a domain.WebhookAttempt, status domain.DeliveryStatus, next time.Time) (bool, error) {
	var delivered, nextAt *time.Time
	if status == domain.DeliveryDelivered {
		delivered = &a.AttemptedAt
	}
	if status == domain.DeliveryPending {
		nextAt = &next
	}
	tag, err := t.tx.Exec(ctx, `UPDATE webhook_deliveries
		SET status = $3, next_attempt_at = coalesce($4, next_attempt_at), delivered_at = coalesce($5, delivered_at),
		    last_status_code = $6, last_error = $7
		WHERE delivery_id = $1 AND attempts = $2 AND status = 'PENDING'`,
		id, a.Attempt, string(status), nextAt, delivered, a.StatusCode, a.Error)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, duration_ms)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, a.Attempt, a.AttemptedAt, a.StatusCode, a.Error, a.Duration.Milliseconds())
	return err == nil, err
}

func (t Tx) ReplayDelivery(ctx context.Context, id string, now time.Time) (domain.WebhookDelivery, error) {
	d, err := scanDelivery(t.tx.QueryRow(ctx, `UPDATE webhook_deliveries d
		SET status = 'PENDING', attempts = 0, next_attempt_at = $2, delivered_at = NULL
		WHERE delivery_id = $1 RETURNING `+deliveryColumns, id, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, domain.ErrDeliveryNotFound
	}
	return d, err
}

func (t Tx) ReplayFailed(ctx context.Context, subscriptionID string, since, now time.Time) (int, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE webhook_deliveries
		SET status = 'PENDING', attempts = 0, next_attempt_at = $3
		WHERE subscription_id = $1 AND status = 'FAILED' AND created_at >= $2`, subscriptionID, since, now)
	return int(tag.RowsAffected()), err
}

func (t Tx) RedactDeliveries(ctx context.Context, memberIDs []string) (int, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE webhook_deliveries
		SET body = convert_to(jsonb_build_object('type', event_type, 'timestamp', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		                                        'data', '{}'::jsonb, 'redacted', true)::text, 'UTF8'),
		    member_id = ''
		WHERE member_id = ANY($1::text[]) AND member_id <> ''`, memberIDs)
	return int(tag.RowsAffected()), err
}

const crmUpdateColumns = `idempotency_key, case_id::text, external_system, external_reference, note, status, updated_by, received_at`

func scanCRMUpdate(row pgx.Row, extra ...any) (domain.CRMUpdate, error) {
	var u domain.CRMUpdate
	err := row.Scan(append([]any{&u.IdempotencyKey, &u.CaseID, &u.ExternalSystem, &u.ExternalReference, &u.Note, &u.Status,
		&u.UpdatedBy, &u.ReceivedAt}, extra...)...)
	return u, err
}

func (t Tx) AddCRMUpdate(ctx context.Context, u domain.CRMUpdate, hash string) (domain.CRMUpdate, string, bool, error) {
	// A concurrent insert of the key waits for the other transaction, then does nothing.
	tag, err := t.tx.Exec(ctx, `INSERT INTO crm_updates (idempotency_key, request_hash, case_id, external_system,
		external_reference, note, status, updated_by, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING`,
		u.IdempotencyKey, hash, u.CaseID, u.ExternalSystem, u.ExternalReference, u.Note, u.Status, u.UpdatedBy, u.ReceivedAt)
	if err != nil {
		return domain.CRMUpdate{}, "", false, err
	}
	if tag.RowsAffected() == 1 {
		return u, hash, true, nil
	}
	var firstHash string
	first, err := scanCRMUpdate(t.tx.QueryRow(ctx, `SELECT `+crmUpdateColumns+`, request_hash FROM crm_updates WHERE idempotency_key = $1`,
		u.IdempotencyKey), &firstHash)
	return first, firstHash, false, err
}

func (t Tx) LinkCase(ctx context.Context, caseID string, l domain.CRMLink) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO crm_links (case_id, external_system, external_reference, updated_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (case_id, external_system) DO UPDATE SET external_reference = excluded.external_reference, updated_at = excluded.updated_at`,
		caseID, l.ExternalSystem, l.ExternalReference, l.UpdatedAt)
	return err
}

func (s *Store) Subscriptions(ctx context.Context) ([]domain.Subscription, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions ORDER BY created_at DESC, subscription_id DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanSubscription)
}

func (s *Store) Subscription(ctx context.Context, id string) (domain.Subscription, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE subscription_id = $1`, id)
	return oneSubscription(rows, err)
}

func (s *Store) WebhookDeliveries(ctx context.Context, subscriptionID string, failedOnly bool, after *app.DeliveryCursor, limit int) ([]domain.WebhookDelivery, error) {
	var (
		afterAt *time.Time
		afterID *string
	)
	if after != nil {
		afterAt, afterID = &after.CreatedAt, &after.DeliveryID
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		WHERE d.subscription_id = $1 AND (NOT $2 OR d.status = 'FAILED')
		  AND ($3::timestamptz IS NULL OR (d.created_at, d.delivery_id) < ($3, $4::uuid))
		ORDER BY d.created_at DESC, d.delivery_id DESC
		LIMIT $5`, subscriptionID, failedOnly, afterAt, afterID, limit)
	if err != nil {
		return nil, err
	}
	ds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.WebhookDelivery, error) { return scanDelivery(row) })
	if err != nil || len(ds) == 0 {
		return ds, err
	}
	ids := make([]string, len(ds))
	at := make(map[string]int, len(ds))
	for i, d := range ds {
		ids[i], at[d.ID] = d.ID, i
	}
	rows, err = s.db.Pool.Query(ctx, `SELECT delivery_id::text, attempt, attempted_at, status_code, error, duration_ms
		FROM webhook_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY attempted_at, attempt`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			a  domain.WebhookAttempt
			ms int64
		)
		if err := rows.Scan(&id, &a.Attempt, &a.AttemptedAt, &a.StatusCode, &a.Error, &ms); err != nil {
			return nil, err
		}
		a.Duration = time.Duration(ms) * time.Millisecond
		ds[at[id]].Log = append(ds[at[id]].Log, a)
	}
	return ds, rows.Err()
}

func (s *Store) CRMLinks(ctx context.Context, caseID string) ([]domain.CRMLink, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT external_system, external_reference, updated_at FROM crm_links
		WHERE case_id = $1 ORDER BY external_system`, caseID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.CRMLink, error) {
		var l domain.CRMLink
		err := row.Scan(&l.ExternalSystem, &l.ExternalReference, &l.UpdatedAt)
		return l, err
	})
}

func (s *Store) CRMUpdates(ctx context.Context, caseID string) ([]domain.CRMUpdate, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+crmUpdateColumns+` FROM crm_updates WHERE case_id = $1 ORDER BY received_at, idempotency_key`, caseID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.CRMUpdate, error) { return scanCRMUpdate(row) })
}
