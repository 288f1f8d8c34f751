// Package postgres is the survey's repository on Postgres: the survey schema's tables and
// the outbox, behind app.Store and app.Tx. SQL only: the application decides what is
// written and which events are emitted.
package postgres

import (
	"context"
	"errors"
	"fmt"
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
	surveys sync.Map // id -> domain.Survey; definitions never change once stored
}

// NewStore returns a store.
func NewStore(db *pg.DB, outbox *bus.Outbox) *Store {
	return &Store{db: db, outbox: outbox}
}

// InTx implements app.Store.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error { return fn(ctx, NewTx(tx, s.outbox)) })
}

const invitationColumns = `i.id::text, i.survey_id::text, coalesce(i.member_id, ''), coalesce(i.locale, ''),
	i.touchpoint, i.store_id, i.trigger_event_id, i.trigger_key, i.expires_at, i.created_at`

func scanInvitation(row pgx.Row, extra ...any) (domain.Invitation, error) {
	var inv domain.Invitation
	var tp string
	dest := append([]any{&inv.ID, &inv.SurveyID, &inv.MemberID, &inv.Locale, &tp, &inv.StoreID,
		&inv.TriggerEventID, &inv.TriggerKey, &inv.ExpiresAt, &inv.CreatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.Invitation{}, domain.ErrInvitationNotFound
		}
		return domain.Invitation{}, err
	}
	inv.Touchpoint = domain.Touchpoint(tp)
	inv.ExpiresAt = inv.ExpiresAt.UTC()
	inv.CreatedAt = inv.CreatedAt.UTC()
	return inv, nil
}

// Invitation implements app.Store.
func (s *Store) Invitation(ctx context.Context, id string) (domain.Invitation, bool, error) {
	var answered bool
	inv, err := scanInvitation(s.db.Pool.QueryRow(ctx, `SELECT `+invitationColumns+`,
		EXISTS (SELECT 1 FROM responses r WHERE r.invitation_id = i.id)
		FROM invitations i WHERE i.id = $1`, id), &answered)
	return inv, answered, err
}

// Survey implements app.Store.
func (s *Store) Survey(ctx context.Context, id string) (domain.Survey, error) {
	if v, ok := s.surveys.Load(id); ok {
		return v.(domain.Survey), nil
	}
	rows, err := s.db.Pool.Query(ctx, `
		SELECT s.name, s.version, s.default_locale, t.locale, t.question, t.low_label, t.high_label
		FROM surveys s JOIN survey_texts t ON t.survey_id = s.id WHERE s.id = $1`, id)
	if err != nil {
		return domain.Survey{}, err
	}
	defer rows.Close()
	sv := domain.Survey{ID: id, Texts: map[string]domain.SurveyText{}}
	for rows.Next() {
		var locale string
		var t domain.SurveyText
		if err := rows.Scan(&sv.Name, &sv.Version, &sv.DefaultLocale, &locale, &t.Question, &t.LowLabel, &t.HighLabel); err != nil {
			return domain.Survey{}, err
		}
		sv.Texts[locale] = t
	}
	if err := rows.Err(); err != nil {
		return domain.Survey{}, err
	}
	if len(sv.Texts) == 0 {
		return domain.Survey{}, fmt.Errorf("survey %s has no definition", id)
	}
	s.surveys.Store(id, sv)
	return sv, nil
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
			SELECT r.id::text, r.invitation_id::text, r.survey_id::text, r.score, r.nps_class, r.comment, r.submitted_at,
			       i.touchpoint, i.store_id
			FROM responses r JOIN invitations i ON i.id = r.invitation_id
			WHERE i.member_id = $1 ORDER BY r.submitted_at DESC, r.id DESC`, memberID)
		if err != nil {
			return err
		}
		if d.Responses, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Response, error) {
			r := domain.Response{MemberID: memberID}
			var class, tp string
			err := row.Scan(&r.ID, &r.InvitationID, &r.SurveyID, &r.Score, &class, &r.Comment, &r.SubmittedAt, &tp, &r.StoreID)
			r.Class, r.Touchpoint, r.SubmittedAt = domain.NPSClass(class), domain.Touchpoint(tp), r.SubmittedAt.UTC()
			return r, err
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
		if err != nil {
			return err
		}
		return memberTriggerData(ctx, tx, &d)
	})
	if err != nil {
		return domain.MemberData{}, err
	}
	return d, nil
}
