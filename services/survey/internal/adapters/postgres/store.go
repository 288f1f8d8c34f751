// Package postgres is the survey's repository on Postgres: the survey schema's tables and
// the outbox, behind app.Store and app.Tx. SQL only: the application decides what is
// written and which events are emitted.
package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

// Store implements app.Store over the service's database (its commits wake the outbox
// relay) and its outbox.
type Store struct {
	db      *pg.DB
	outbox  *bus.Outbox
	surveys sync.Map // (survey id, version) -> domain.SurveyVersion, once published
}

// NewStore returns a store.
func NewStore(db *pg.DB, outbox *bus.Outbox) *Store {
	return &Store{db: db, outbox: outbox}
}

// InTx implements app.Store.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		t := NewTx(tx, s.outbox)
		t.versions = &s.surveys
		return fn(ctx, t)
	})
}

const invitationColumns = `i.id::text, i.survey_id::text, coalesce(i.member_id, ''), coalesce(i.locale, ''),
	i.touchpoint, i.store_id, i.trigger_event_id, i.trigger_key, i.expires_at, i.created_at,
	i.status, i.due_at, i.survey_version, coalesce(i.trigger_id::text, ''), i.channels, i.channel, i.employee_id,
	i.sales_channel, i.sent_at`

func scanInvitation(row pgx.Row, extra ...any) (domain.Invitation, error) {
	var inv domain.Invitation
	var tp, status, channel string
	var channels []string
	var sentAt *time.Time
	dest := append([]any{&inv.ID, &inv.SurveyID, &inv.MemberID, &inv.Locale, &tp, &inv.StoreID,
		&inv.TriggerEventID, &inv.TriggerKey, &inv.ExpiresAt, &inv.CreatedAt,
		&status, &inv.DueAt, &inv.SurveyVersion, &inv.TriggerID, &channels, &channel, &inv.EmployeeID,
		&inv.SalesChannel, &sentAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.Invitation{}, domain.ErrInvitationNotFound
		}
		return domain.Invitation{}, err
	}
	inv.Touchpoint = domain.Touchpoint(tp)
	inv.ExpiresAt = inv.ExpiresAt.UTC()
	inv.CreatedAt = inv.CreatedAt.UTC()
	inv.Status, inv.Channel, inv.DueAt = domain.InvitationStatus(status), domain.DeliveryChannel(channel), inv.DueAt.UTC()
	for _, c := range channels {
		inv.Channels = append(inv.Channels, domain.DeliveryChannel(c))
	}
	if sentAt != nil {
		inv.SentAt = sentAt.UTC()
	}
	return inv, nil
}

// Invitation implements app.Store.
func (s *Store) Invitation(ctx context.Context, id string) (domain.Invitation, bool, error) {
	var answered bool
	inv, err := scanInvitation(s.db.Pool.QueryRow(ctx, `SELECT `+invitationColumns+`,
		i.status = 'ANSWERED' OR EXISTS (SELECT 1 FROM responses r WHERE r.invitation_id = i.id)
		FROM invitations i WHERE i.id = $1`, id), &answered)
	return inv, answered, err
}

// ListInvitations implements app.Store.
func (s *Store) ListInvitations(ctx context.Context, memberID string, after *app.Cursor, limit int) ([]app.InvitationView, error) {
	var afterAt *time.Time
	afterID := "00000000-0000-0000-0000-000000000000"
	if after != nil {
		afterAt, afterID = &after.CreatedAt, after.ID
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT `+invitationColumns+`,
		EXISTS (SELECT 1 FROM responses r WHERE r.invitation_id = i.id)
		FROM invitations i
		WHERE i.member_id = $1 AND ($2::timestamptz IS NULL OR (i.created_at, i.id) < ($2, $3::uuid))
		ORDER BY i.created_at DESC, i.id DESC
		LIMIT $4`, memberID, afterAt, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []app.InvitationView
	for rows.Next() {
		var v app.InvitationView
		if v.Invitation, err = scanInvitation(rows, &v.Answered); err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// MemberData implements app.Store, in one read-only snapshot so that an erasure
// committing meanwhile is seen whole or not at all.
func (s *Store) MemberData(ctx context.Context, memberID string) (domain.MemberData, error) {
	d := domain.MemberData{MemberID: memberID}
	err := pgx.BeginTxFunc(ctx, s.db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var m domain.MemberCopy
		var lastInvited *time.Time
		err := tx.QueryRow(ctx, `SELECT locale, survey_consent, last_invited_at, updated_at FROM members WHERE member_id = $1`,
			memberID).Scan(&m.Locale, &m.SurveyConsent, &lastInvited, &m.UpdatedAt)
		switch {
		case err == nil:
			m.ID, m.UpdatedAt = memberID, m.UpdatedAt.UTC()
			if lastInvited != nil {
				m.LastInvitedAt = lastInvited.UTC()
			}
			d.Member = &m
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		err = tx.QueryRow(ctx, `SELECT erased_at FROM erased_members WHERE member_id = $1`, memberID).Scan(&d.ErasedAt)
		switch {
		case err == nil:
			d.ErasedAt = d.ErasedAt.UTC()
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}

		rows, err := tx.Query(ctx, `SELECT `+invitationColumns+`,
			EXISTS (SELECT 1 FROM responses r WHERE r.invitation_id = i.id)
			FROM invitations i WHERE i.member_id = $1 ORDER BY i.created_at DESC, i.id DESC`, memberID)
		if err != nil {
			return err
		}
		if d.Invitations, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.ExportedInvitation, error) {
			var v domain.ExportedInvitation
			inv, err := scanInvitation(row, &v.Answered)
			v.Invitation = inv
			return v, err
		}); err != nil {
			return err
		}

		rows, err = tx.Query(ctx, `
			SELECT r.id::text, r.invitation_id::text, r.survey_id::text, r.survey_version, r.score, r.score_kind,
			       coalesce(r.nps_class, ''), r.comment, r.answers, r.locale, r.submitted_at, i.touchpoint, i.store_id
			FROM responses r JOIN invitations i ON i.id = r.invitation_id
			WHERE i.member_id = $1 ORDER BY r.submitted_at DESC, r.id DESC`, memberID)
		if err != nil {
			return err
		}
		if d.Responses, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Response, error) {
			r := domain.Response{MemberID: memberID}
			var class, kind, tp string
			var answers []byte
			err := row.Scan(&r.ID, &r.InvitationID, &r.SurveyID, &r.SurveyVersion, &r.Score, &kind, &class, &r.Comment,
				&answers, &r.Locale, &r.SubmittedAt, &tp, &r.StoreID)
			if err != nil {
				return r, err
			}
			r.Class, r.ScoreKind, r.Touchpoint, r.SubmittedAt = domain.NPSClass(class), domain.ScoreKind(kind), domain.Touchpoint(tp), r.SubmittedAt.UTC()
			r.Answers, err = parseAnswers(answers)
			return r, err
		}); err != nil {
			return err
		}

		rows, err = tx.Query(ctx, `
			SELECT d.invitation_id::text, d.answers, d.updated_at
			FROM response_drafts d JOIN invitations i ON i.id = d.invitation_id
			WHERE i.member_id = $1 ORDER BY d.updated_at DESC, d.invitation_id`, memberID)
		if err != nil {
			return err
		}
		if d.Drafts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Draft, error) {
			var x domain.Draft
			var answers []byte
			if err := row.Scan(&x.InvitationID, &answers, &x.UpdatedAt); err != nil {
				return x, err
			}
			x.UpdatedAt = x.UpdatedAt.UTC()
			var err error
			x.Answers, err = parseAnswers(answers)
			return x, err
		}); err != nil {
			return err
		}

		rows, err = tx.Query(ctx, `
			SELECT trigger_event_id, trigger_key, member_id, touchpoint, store_id, occurred_at
			FROM pending_triggers WHERE member_id = $1 ORDER BY occurred_at DESC, trigger_event_id DESC`, memberID)
		if err != nil {
			return err
		}
		d.ParkedTriggers, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Trigger, error) {
			var t domain.Trigger
			var tp string
			err := row.Scan(&t.EventID, &t.Key, &t.MemberID, &tp, &t.StoreID, &t.OccurredAt)
			t.Touchpoint, t.OccurredAt = domain.Touchpoint(tp), t.OccurredAt.UTC()
			return t, err
		})
		return err
	})
	if err != nil {
		return domain.MemberData{}, err
	}
	return d, nil
}
