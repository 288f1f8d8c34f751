package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/treue/treue/services/survey/internal/domain"
)

// receiptColumns are the columns of an invitation a receipt link shows, lifecycle
// included.
const receiptColumns = `id::text, survey_id::text, coalesce(member_id, ''), coalesce(locale, ''), touchpoint,
	store_id, trigger_event_id, trigger_key, expires_at, created_at, status, due_at, survey_version, channel,
	employee_id, sales_channel, sent_at`

func scanReceiptInvitation(row pgx.Row) (domain.Invitation, error) {
	var inv domain.Invitation
	var tp, status, channel string
	var sentAt pgtype.Timestamptz
	err := row.Scan(&inv.ID, &inv.SurveyID, &inv.MemberID, &inv.Locale, &tp, &inv.StoreID, &inv.TriggerEventID,
		&inv.TriggerKey, &inv.ExpiresAt, &inv.CreatedAt, &status, &inv.DueAt, &inv.SurveyVersion, &channel,
		&inv.EmployeeID, &inv.SalesChannel, &sentAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Invitation{}, domain.ErrInvitationNotFound
	}
	if err != nil {
		return domain.Invitation{}, err
	}
	inv.Touchpoint, inv.Status, inv.Channel = domain.Touchpoint(tp), domain.InvitationStatus(status), domain.DeliveryChannel(channel)
	inv.ExpiresAt, inv.CreatedAt, inv.DueAt = inv.ExpiresAt.UTC(), inv.CreatedAt.UTC(), inv.DueAt.UTC()
	if sentAt.Valid {
		inv.SentAt = sentAt.Time.UTC()
	}
	return inv, nil
}

// IssueReceiptInvitation implements app.ReceiptTx. Two tills asking at once for the same
// receipt are serialised by the unique trigger key: the second insert waits for the
// first and then finds its row.
func (t *Tx) IssueReceiptInvitation(ctx context.Context, inv domain.Invitation) (domain.Invitation, bool, error) {
	if inv.MemberID != "" {
		var erased bool
		var locale string
		if err := t.tx.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM erased_members WHERE member_id = $1),
			       coalesce((SELECT locale FROM members WHERE member_id = $1), '')`, inv.MemberID).Scan(&erased, &locale); err != nil {
			return domain.Invitation{}, false, err
		}
		switch {
		case erased:
			// Erased members are never linked again: the receipt is answered anonymously.
			inv.MemberID = ""
		case inv.Locale == "":
			inv.Locale = locale
		}
	}
	var member, locale *string
	if inv.MemberID != "" {
		member = &inv.MemberID
	}
	if inv.Locale != "" {
		locale = &inv.Locale
	}
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO invitations (id, survey_id, member_id, locale, touchpoint, store_id, trigger_event_id, trigger_key,
			expires_at, created_at, status, due_at, survey_version, channel, employee_id, sales_channel, sent_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $10)
		ON CONFLICT DO NOTHING`,
		inv.ID, inv.SurveyID, member, locale, string(inv.Touchpoint), inv.StoreID, inv.TriggerEventID, inv.TriggerKey,
		inv.ExpiresAt, inv.CreatedAt, string(inv.Status), inv.DueAt, inv.SurveyVersion, string(inv.Channel),
		inv.EmployeeID, inv.SalesChannel, inv.SentAt)
	if err != nil {
		return domain.Invitation{}, false, err
	}
	created := tag.RowsAffected() == 1
	if !created {
		// The purchase's invitation, scheduled by a trigger and not sent yet, becomes the
		// receipt's: the customer holds its link now, and is not emailed the same survey.
		if _, err := t.tx.Exec(ctx, `
			UPDATE invitations SET status = 'SENT', channel = 'RECEIPT', due_at = least(due_at, $2), sent_at = $2,
				updated_at = $2
			WHERE trigger_key = $1 AND status = 'SCHEDULED'`, inv.TriggerKey, inv.CreatedAt); err != nil {
			return domain.Invitation{}, false, err
		}
	}
	stored, err := scanReceiptInvitation(t.tx.QueryRow(ctx,
		`SELECT `+receiptColumns+` FROM invitations WHERE trigger_key = $1`, inv.TriggerKey))
	if err != nil {
		return domain.Invitation{}, false, err
	}
	return stored, created, nil
}
