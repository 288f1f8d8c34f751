package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

// dueColumns are an invitation due for delivery and what the contact policy reads now.
// A survey is retired when its row has a retired_at that is set; to_jsonb reads the
// column without naming it, so the query works before and after the column exists.
const dueColumns = `i.id::text, i.survey_id::text, coalesce(i.member_id, ''), coalesce(i.locale, ''),
	i.touchpoint, i.store_id, i.trigger_event_id, i.trigger_key, i.expires_at, i.created_at,
	i.status, i.due_at, i.survey_version, coalesce(i.trigger_id::text, ''), i.channels, i.channel,
	i.employee_id, i.sales_channel, i.attempts,
	m.member_id IS NOT NULL, coalesce(m.survey_consent, false), coalesce(m.email, ''), coalesce(m.phone, ''),
	coalesce(m.locale, ''), coalesce(m.time_zone, ''),
	EXISTS (SELECT 1 FROM erased_members e WHERE e.member_id = i.member_id),
	EXISTS (SELECT 1 FROM open_cases c WHERE c.member_id = i.member_id),
	EXISTS (SELECT 1 FROM surveys s WHERE s.id = i.survey_id AND to_jsonb(s) ->> 'retired_at' IS NOT NULL),
	EXISTS (SELECT 1 FROM responses r WHERE r.invitation_id = i.id)`

func scanDue(rows pgx.Rows) ([]app.DueInvitation, error) {
	defer rows.Close()
	var out []app.DueInvitation
	for rows.Next() {
		var d app.DueInvitation
		var tp, status, channel string
		var channels []string
		if err := rows.Scan(&d.ID, &d.SurveyID, &d.MemberID, &d.Invitation.Locale, &tp, &d.StoreID,
			&d.TriggerEventID, &d.TriggerKey, &d.ExpiresAt, &d.CreatedAt,
			&status, &d.DueAt, &d.SurveyVersion, &d.TriggerID, &channels, &channel,
			&d.EmployeeID, &d.SalesChannel, &d.Attempts,
			&d.Known, &d.Consent, &d.Email, &d.Phone, &d.Locale, &d.TimeZone,
			&d.Erased, &d.OpenCase, &d.Retired, &d.Answered); err != nil {
			return nil, err
		}
		d.Touchpoint = domain.Touchpoint(tp)
		d.Status = domain.InvitationStatus(status)
		d.Channel = domain.DeliveryChannel(channel)
		for _, c := range channels {
			d.Channels = append(d.Channels, domain.DeliveryChannel(c))
		}
		d.ExpiresAt, d.CreatedAt, d.DueAt = d.ExpiresAt.UTC(), d.CreatedAt.UTC(), d.DueAt.UTC()
		if d.Locale == "" {
			d.Locale = d.Invitation.Locale
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DueInvitations implements app.DeliveryTx.
func (t *Tx) DueInvitations(ctx context.Context, now time.Time, limit int) ([]app.DueInvitation, error) {
	rows, err := t.tx.Query(ctx, `
		WITH due AS (
			SELECT id FROM invitations WHERE status = 'SCHEDULED' AND due_at <= $1
			ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		SELECT `+dueColumns+`
		FROM due JOIN invitations i ON i.id = due.id
		LEFT JOIN members m ON m.member_id = i.member_id
		ORDER BY i.due_at`, now, limit)
	if err != nil {
		return nil, err
	}
	return scanDue(rows)
}

// DueReminders implements app.DeliveryTx.
func (t *Tx) DueReminders(ctx context.Context, now time.Time, limit int) ([]app.DueInvitation, error) {
	rows, err := t.tx.Query(ctx, `
		WITH due AS (
			SELECT id FROM invitations
			WHERE status = 'SENT' AND reminded_at IS NULL AND reminder_due_at <= $1 AND expires_at > $1
			ORDER BY reminder_due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		SELECT `+dueColumns+`
		FROM due JOIN invitations i ON i.id = due.id
		LEFT JOIN members m ON m.member_id = i.member_id`, now, limit)
	if err != nil {
		return nil, err
	}
	return scanDue(rows)
}

// ClaimDelivery implements app.DeliveryTx.
func (t *Tx) ClaimDelivery(ctx context.Context, id string, ch domain.DeliveryChannel, leaseUntil time.Time) (int, error) {
	var attempt int
	err := t.tx.QueryRow(ctx, `UPDATE invitations
		SET attempts = attempts + 1, channel = $2, due_at = $3, next_attempt_at = $3, updated_at = now()
		WHERE id = $1 AND status = 'SCHEDULED' RETURNING attempts`, id, string(ch), leaseUntil).Scan(&attempt)
	return attempt, err
}

// Postpone implements app.DeliveryTx.
func (t *Tx) Postpone(ctx context.Context, id string, dueAt time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE invitations SET due_at = $2, updated_at = now()
		WHERE id = $1 AND status = 'SCHEDULED'`, id, dueAt)
	return err
}

// SuppressDue implements app.DeliveryTx.
func (t *Tx) SuppressDue(ctx context.Context, inv domain.Invitation, reason domain.SuppressionReason, at time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE invitations SET status = 'SUPPRESSED', suppressed_reason = $2, updated_at = $3
		WHERE id = $1 AND status = 'SCHEDULED'`, inv.ID, string(reason), at)
	var member, trigger *string
	if inv.MemberID != "" {
		member = &inv.MemberID
	}
	if inv.TriggerID != "" {
		trigger = &inv.TriggerID
	}
	b.Queue(`INSERT INTO suppressions (id, invitation_id, member_id, trigger_id, touchpoint, touchpoint_key, reason, suppressed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		uuid.NewString(), inv.ID, member, trigger, string(inv.Touchpoint), inv.TriggerKey, string(reason), at)
	return t.tx.SendBatch(ctx, b).Close()
}

// MarkSent implements app.DeliveryTx.
func (t *Tx) MarkSent(ctx context.Context, id string, attempt int, ch domain.DeliveryChannel, at time.Time, reminderDue *time.Time) (bool, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE invitations
		SET status = 'SENT', channel = $3, sent_at = $4, reminder_due_at = $5, next_attempt_at = NULL,
			last_error = '', updated_at = $4, due_at = least(due_at, $4)
		WHERE id = $1 AND status = 'SCHEDULED' AND attempts = $2`, id, attempt, string(ch), at, reminderDue)
	return tag.RowsAffected() == 1, err
}

// RetryLater implements app.DeliveryTx.
func (t *Tx) RetryLater(ctx context.Context, id string, attempt int, next time.Time, errText string) (bool, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE invitations
		SET due_at = $3, next_attempt_at = $3, last_error = $4, updated_at = now()
		WHERE id = $1 AND status = 'SCHEDULED' AND attempts = $2`, id, attempt, next, errText)
	return tag.RowsAffected() == 1, err
}

// MarkFailed implements app.DeliveryTx.
func (t *Tx) MarkFailed(ctx context.Context, id string, attempt int, at time.Time, errText string) (bool, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE invitations
		SET status = 'FAILED', next_attempt_at = NULL, last_error = $4, updated_at = $3
		WHERE id = $1 AND status = 'SCHEDULED' AND attempts = $2`, id, attempt, at, errText)
	return tag.RowsAffected() == 1, err
}

// SetStatus implements app.DeliveryTx.
func (t *Tx) SetStatus(ctx context.Context, id string, status domain.InvitationStatus, at time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE invitations SET status = $2, updated_at = $3 WHERE id = $1`, id, string(status), at)
	return err
}

// ClaimReminder implements app.DeliveryTx.
func (t *Tx) ClaimReminder(ctx context.Context, id string, at time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE invitations SET reminded_at = $2, updated_at = $2 WHERE id = $1`, id, at)
	return err
}

// SetReminderDue implements app.DeliveryTx.
func (t *Tx) SetReminderDue(ctx context.Context, id string, at *time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE invitations SET reminder_due_at = $2, updated_at = now() WHERE id = $1`, id, at)
	return err
}

// ExpireSent implements app.DeliveryTx.
func (t *Tx) ExpireSent(ctx context.Context, now time.Time, limit int) (int, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE invitations SET status = 'EXPIRED', updated_at = $1
		WHERE id IN (SELECT id FROM invitations WHERE status = 'SENT' AND expires_at <= $1
			LIMIT $2 FOR UPDATE SKIP LOCKED)`, now, limit)
	return int(tag.RowsAffected()), err
}

// LogDelivery implements app.DeliveryTx.
func (t *Tx) LogDelivery(ctx context.Context, d domain.Delivery) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO deliveries (id, invitation_id, channel, reminder, attempt, outcome, error, attempted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		d.ID, d.InvitationID, string(d.Channel), d.Reminder, d.Attempt, d.Outcome, d.Error, d.AttemptedAt)
	return err
}

// WithdrawConsent implements app.DeliveryTx. A copy as of a later moment than at (a
// consent given again since) is left alone.
func (t *Tx) WithdrawConsent(ctx context.Context, memberID string, at time.Time) (bool, error) {
	var known bool
	err := t.tx.QueryRow(ctx, `WITH u AS (
			UPDATE members SET survey_consent = false, as_of = $2, updated_at = now()
			WHERE member_id = $1 AND (as_of IS NULL OR as_of <= $2) RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM u) OR EXISTS (SELECT 1 FROM members WHERE member_id = $1)`, memberID, at).Scan(&known)
	return known, err
}

// ListDeliveries implements app.DeliveryStore.
func (s *Store) ListDeliveries(ctx context.Context, invitationID string, failedOnly bool, after *app.Cursor, limit int) ([]domain.Delivery, error) {
	var afterAt *time.Time
	afterID := "ffffffff-ffff-ffff-ffff-ffffffffffff"
	if after != nil {
		afterAt, afterID = &after.CreatedAt, after.ID
	}
	var inv *string
	if invitationID != "" {
		inv = &invitationID
	}
	rows, err := s.db.Pool.Query(ctx, `
		SELECT id::text, invitation_id::text, channel, reminder, attempt, outcome, error, attempted_at
		FROM deliveries
		WHERE ($1::uuid IS NULL OR invitation_id = $1) AND (NOT $2 OR outcome <> 'SENT')
			AND ($3::timestamptz IS NULL OR (attempted_at, id) < ($3, $4::uuid))
		ORDER BY attempted_at DESC, id DESC LIMIT $5`, inv, failedOnly, afterAt, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Delivery
	for rows.Next() {
		var d domain.Delivery
		var ch string
		if err := rows.Scan(&d.ID, &d.InvitationID, &ch, &d.Reminder, &d.Attempt, &d.Outcome, &d.Error, &d.AttemptedAt); err != nil {
			return nil, err
		}
		d.Channel, d.AttemptedAt = domain.DeliveryChannel(ch), d.AttemptedAt.UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}
