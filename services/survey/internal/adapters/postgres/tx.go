package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/convert"
	"github.com/treue/treue/services/survey/internal/domain"
)

// memberLockClass is the first key of the advisory locks on members ("surv"): it keeps
// them apart from other users of two-key advisory locks in the same database.
const memberLockClass = 0x73757276

// Tx implements app.Tx on one transaction (the consumer's, or the store's own).
type Tx struct {
	tx     pgx.Tx
	outbox *bus.Outbox
	// versions are the survey versions the store keeps in memory; nil: none.
	versions *sync.Map
}

// NewTx wraps tx; Emit writes to outbox.
func NewTx(tx pgx.Tx, outbox *bus.Outbox) *Tx { return &Tx{tx: tx, outbox: outbox} }

// ClaimContacts implements app.Tx. The UPDATE takes a row lock only on members it
// claims, and a concurrent claimer re-checks last_invited_at once that lock is released,
// so two transactions cannot both claim a member. A trigger that already has an
// invitation (a re-sent purchase) claims nothing, so it cannot use up the member's
// contact. Known members who may not be asked (the common case) return no row.
func (t *Tx) ClaimContacts(ctx context.Context, ts []domain.Trigger, now, notAfter time.Time) ([]app.ContactState, error) {
	members, eventIDs, keys := make([]string, len(ts)), make([]string, len(ts)), make([]string, len(ts))
	for i, tr := range ts {
		members[i], eventIDs[i], keys[i] = tr.MemberID, tr.EventID, tr.Key
	}
	rows, err := t.tx.Query(ctx, `
		WITH batch AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS b(member_id, trigger_event_id, trigger_key)
		), claimed AS (
			UPDATE members m SET last_invited_at = $4
			FROM batch b
			WHERE m.member_id = b.member_id AND m.survey_consent
			  AND (m.last_invited_at IS NULL OR m.last_invited_at <= $5)
			  AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.trigger_event_id = b.trigger_event_id)
			  AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.trigger_key = b.trigger_key)
			RETURNING m.member_id, m.locale
		)
		SELECT b.member_id, c.member_id IS NOT NULL, coalesce(c.locale, ''),
		       EXISTS (SELECT 1 FROM erased_members e WHERE e.member_id = b.member_id)
		FROM batch b LEFT JOIN claimed c ON c.member_id = b.member_id
		WHERE c.member_id IS NOT NULL
		   OR NOT EXISTS (SELECT 1 FROM members m WHERE m.member_id = b.member_id)`,
		members, eventIDs, keys, now, notAfter)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.ContactState, error) {
		var s app.ContactState
		var claimed, erased bool
		err := row.Scan(&s.MemberID, &claimed, &s.Locale, &erased)
		switch {
		case claimed:
			s.Status = app.ContactClaimed
		case erased:
			s.Status = app.ContactErased
		default:
			s.Status = app.ContactUnknown
		}
		return s, err
	})
}

// LockMembers implements app.Tx with transaction-level advisory locks, taken in the
// order of their keys so that two transactions locking overlapping sets cannot deadlock
// on them.
func (t *Tx) LockMembers(ctx context.Context, memberIDs []string) error {
	_, err := t.tx.Exec(ctx, `
		SELECT pg_advisory_xact_lock($1, k)
		FROM (SELECT DISTINCT hashtext(id) AS k FROM unnest($2::text[]) AS id ORDER BY k) keys`,
		int32(memberLockClass), memberIDs)
	return err
}

// ParkTriggers implements app.Tx.
func (t *Tx) ParkTriggers(ctx context.Context, ts []domain.Trigger, now time.Time) error {
	n := len(ts)
	eventIDs, keys, members, touchpoints, stores := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	occurred := make([]time.Time, n)
	for i, tr := range ts {
		eventIDs[i], keys[i], members[i], touchpoints[i], stores[i], occurred[i] =
			tr.EventID, tr.Key, tr.MemberID, string(tr.Touchpoint), tr.StoreID, tr.OccurredAt
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO pending_triggers (trigger_event_id, trigger_key, member_id, touchpoint, store_id, occurred_at, parked_at)
		SELECT e, k, m, tp, s, o, $7
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS u(e, k, m, tp, s, o)
		ON CONFLICT DO NOTHING`,
		eventIDs, keys, members, touchpoints, stores, occurred, now)
	return err
}

// TakeParkedTriggers implements app.Tx.
func (t *Tx) TakeParkedTriggers(ctx context.Context, memberIDs []string, since time.Time) ([]domain.Trigger, error) {
	rows, err := t.tx.Query(ctx, `
		DELETE FROM pending_triggers WHERE member_id = ANY($1)
		RETURNING trigger_event_id, trigger_key, member_id, touchpoint, store_id, occurred_at, parked_at`, memberIDs)
	if err != nil {
		return nil, err
	}
	var out []domain.Trigger
	var tr domain.Trigger
	var tp string
	var parkedAt time.Time
	_, err = pgx.ForEachRow(rows, []any{&tr.EventID, &tr.Key, &tr.MemberID, &tp, &tr.StoreID, &tr.OccurredAt, &parkedAt}, func() error {
		if !parkedAt.Before(since) {
			tr.Touchpoint = domain.Touchpoint(tp)
			out = append(out, tr)
		}
		return nil
	})
	return out, err
}

// PruneParkedTriggers implements app.Tx.
func (t *Tx) PruneParkedTriggers(ctx context.Context, before time.Time) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM pending_triggers WHERE parked_at < $1`, before)
	return err
}

// CreateInvitations implements app.Tx.
func (t *Tx) CreateInvitations(ctx context.Context, invs []domain.Invitation) ([]string, error) {
	n := len(invs)
	ids, surveys, members, locales, touchpoints, stores, eventIDs, keys :=
		make([]string, n), make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	expires, created := make([]time.Time, n), make([]time.Time, n)
	for i, inv := range invs {
		ids[i], surveys[i], members[i], locales[i], touchpoints[i], stores[i], eventIDs[i], keys[i] =
			inv.ID, inv.SurveyID, inv.MemberID, inv.Locale, string(inv.Touchpoint), inv.StoreID, inv.TriggerEventID, inv.TriggerKey
		expires[i], created[i] = inv.ExpiresAt, inv.CreatedAt
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO invitations (id, survey_id, member_id, locale, touchpoint, store_id, trigger_event_id, trigger_key, expires_at, created_at)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
		                     $9::timestamptz[], $10::timestamptz[])
		ON CONFLICT DO NOTHING
		RETURNING id::text`,
		ids, surveys, members, locales, touchpoints, stores, eventIDs, keys, expires, created)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// UpsertMembers implements app.Tx.
func (t *Tx) UpsertMembers(ctx context.Context, ms []domain.Member) ([]string, error) {
	n := len(ms)
	ids, locales, consents := make([]string, n), make([]string, n), make([]bool, n)
	asOf := make([]pgtype.Timestamptz, n)
	for i, m := range ms {
		ids[i], locales[i], consents[i] = m.ID, m.Locale, m.SurveyConsent
		asOf[i] = pgtype.Timestamptz{Time: m.AsOf, Valid: !m.AsOf.IsZero()}
	}
	// An older copy than the one stored (a consent change delivered before the
	// enrolment it follows) changes nothing.
	rows, err := t.tx.Query(ctx, `
		INSERT INTO members (member_id, locale, survey_consent, as_of, updated_at)
		SELECT u.id, u.locale, u.consent, u.as_of, now()
		FROM unnest($1::text[], $2::text[], $3::bool[], $4::timestamptz[]) AS u(id, locale, consent, as_of)
		WHERE NOT EXISTS (SELECT 1 FROM erased_members e WHERE e.member_id = u.id)
		ON CONFLICT (member_id) DO UPDATE
		SET locale = EXCLUDED.locale, survey_consent = EXCLUDED.survey_consent, as_of = EXCLUDED.as_of,
			updated_at = EXCLUDED.updated_at
		WHERE members.as_of IS NULL OR EXCLUDED.as_of IS NULL OR members.as_of <= EXCLUDED.as_of
		RETURNING member_id`, ids, locales, consents, asOf)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// EraseMembers implements app.Tx in one round trip. Scores and the invitations stay (the
// numbers must still add up); what could identify or describe the member goes: the local
// member row, parked triggers, comments, and the invitations' member link and locale.
// Open links are closed.
//
// The invitations are locked first: that waits for a response being recorded to one of
// them (LockInvitation) to commit, and the statements after the lock see it, so its
// comment is cleared too.
func (t *Tx) EraseMembers(ctx context.Context, memberIDs []string, at time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`SELECT count(*) FROM (SELECT 1 FROM invitations WHERE member_id = ANY($1) FOR NO KEY UPDATE) locked`, memberIDs)
	b.Queue(`DELETE FROM members WHERE member_id = ANY($1)`, memberIDs)
	b.Queue(`INSERT INTO erased_members (member_id, erased_at) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`, memberIDs, at)
	b.Queue(`DELETE FROM pending_triggers WHERE member_id = ANY($1)`, memberIDs)
	// Free text goes: the comment and every answer's text (choices and scores stay).
	b.Queue(`UPDATE responses r SET comment = '', locale = '',
		answers = coalesce((SELECT jsonb_object_agg(a.key, a.value - 'text') FROM jsonb_each(r.answers) a), '{}')
		FROM invitations i WHERE r.invitation_id = i.id AND i.member_id = ANY($1)`, memberIDs)
	b.Queue(`DELETE FROM response_drafts d USING invitations i WHERE d.invitation_id = i.id AND i.member_id = ANY($1)`, memberIDs)
	b.Queue(`UPDATE invitations SET member_id = NULL, locale = NULL, anonymised_at = $2,
		expires_at = least(expires_at, $2) WHERE member_id = ANY($1)`, memberIDs, at)
	return t.tx.SendBatch(ctx, b).Close()
}

// LockInvitation implements app.Tx. FOR NO KEY UPDATE conflicts with the lock
// EraseMembers takes and with another answer's: a second answer waits for the first and
// then reads the invitation ANSWERED.
func (t *Tx) LockInvitation(ctx context.Context, id string) (domain.Invitation, error) {
	return scanInvitation(t.tx.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations i WHERE i.id = $1 FOR NO KEY UPDATE`, id))
}

// AddResponse implements app.Tx. ON CONFLICT keeps the transaction usable and makes a
// concurrent second answer wait for the first and then see it.
func (t *Tx) AddResponse(ctx context.Context, r domain.Response) error {
	answers, err := answersJSON(r.Answers)
	if err != nil {
		return err
	}
	var class, triggerID *string
	if r.Class != "" {
		c := string(r.Class)
		class = &c
	}
	if r.TriggerID != "" {
		triggerID = &r.TriggerID
	}
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO responses (id, invitation_id, survey_id, score, nps_class, comment, submitted_at,
			survey_version, score_kind, answers, locale, employee_id, channel, touchpoint_key, trigger_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (invitation_id) DO NOTHING`,
		r.ID, r.InvitationID, r.SurveyID, r.Score, class, r.Comment, r.SubmittedAt,
		r.SurveyVersion, string(r.ScoreKind), answers, r.Locale, r.EmployeeID, r.SalesChannel, r.TriggerKey, triggerID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrAlreadyAnswered
	}
	return nil
}

// Emit implements app.Tx.
func (t *Tx) Emit(ctx context.Context, events ...domain.Event) error {
	msgs, err := convert.Events(events...)
	if err != nil {
		return err
	}
	return t.outbox.Enqueue(ctx, t.tx, msgs...)
}
