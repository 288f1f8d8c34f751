package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

// TriggerStates implements app.TriggerTx: one statement for the whole batch, which
// also reads the rules' epoch.
func (t *Tx) TriggerStates(ctx context.Context, ts []domain.Trigger, notAfter time.Time) ([]app.TriggerState, int64, error) {
	n := len(ts)
	members, eventIDs, keys := make([]string, n), make([]string, n), make([]string, n)
	for i, tr := range ts {
		members[i], eventIDs[i], keys[i] = tr.MemberID, tr.EventID, tr.Key
	}
	rows, err := t.tx.Query(ctx, `
		SELECT m.member_id IS NOT NULL,
		       EXISTS (SELECT 1 FROM erased_members e WHERE e.member_id = b.member_id),
		       coalesce(m.survey_consent, false),
		       EXISTS (SELECT 1 FROM open_cases c WHERE c.member_id = b.member_id),
		       coalesce(m.locale, ''), coalesce(m.tier, ''), coalesce(m.tags, '{}'),
		       coalesce(m.last_invited_at > $4, false),
		       EXISTS (SELECT 1 FROM purchase_keys r WHERE r.trigger_key = b.key AND r.returned_at IS NOT NULL),
		       coalesce((SELECT i.id::text FROM invitations i WHERE i.trigger_event_id = b.event_id),
		                (SELECT i.id::text FROM invitations i WHERE i.trigger_key = b.key), ''),
		       coalesce((SELECT s.reason FROM suppressions s
		                 WHERE s.touchpoint_key = b.key AND s.invitation_id IS NULL AND s.touchpoint_key <> ''), ''),
		       (SELECT epoch FROM trigger_rules_epoch)
		FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS b(member_id, event_id, key, n)
		LEFT JOIN members m ON m.member_id = b.member_id
		ORDER BY b.n`, members, eventIDs, keys, notAfter)
	if err != nil {
		return nil, 0, err
	}
	var epoch int64
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.TriggerState, error) {
		var s app.TriggerState
		var reason string
		err := row.Scan(&s.Member.Known, &s.Member.Erased, &s.Member.Consent, &s.Member.OpenCase, &s.Member.Locale,
			&s.Member.Tier, &s.Member.Tags, &s.Capped, &s.Returned, &s.InvitationID, &reason, &epoch)
		s.SuppressedReason = domain.SuppressionReason(reason)
		return s, err
	})
	return out, epoch, err
}

const triggerRuleColumns = `id::text, version, active, name, touchpoints, condition, survey_id::text, delay_seconds,
	sampling_rate, channels, priority, created_at, updated_at, exempt_from_frequency_cap`

func scanTriggerRule(row pgx.Row, extra ...any) (domain.TriggerRule, error) {
	var r domain.TriggerRule
	var tps, chs []string
	var delay int64
	err := row.Scan(append([]any{&r.ID, &r.Version, &r.Active, &r.Name, &tps, &r.Condition, &r.SurveyID, &delay,
		&r.SamplingRate, &chs, &r.Priority, &r.CreatedAt, &r.UpdatedAt, &r.ExemptFromFrequencyCap}, extra...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.TriggerRule{}, domain.ErrTriggerRuleNotFound
	}
	if err != nil {
		return domain.TriggerRule{}, err
	}
	for _, tp := range tps {
		r.Touchpoints = append(r.Touchpoints, domain.Touchpoint(tp))
	}
	for _, c := range chs {
		r.Channels = append(r.Channels, domain.DeliveryChannel(c))
	}
	r.Delay = time.Duration(delay) * time.Second
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

func collectTriggerRules(rows pgx.Rows, err error) ([]domain.TriggerRule, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.TriggerRule, error) { return scanTriggerRule(row) })
}

func ruleArgs(r domain.TriggerRule) (tps, chs []string) {
	tps, chs = []string{}, []string{}
	for _, tp := range r.Touchpoints {
		tps = append(tps, string(tp))
	}
	for _, c := range r.Channels {
		chs = append(chs, string(c))
	}
	return tps, chs
}

// TriggerRules implements app.TriggerTx.
func (t *Tx) TriggerRules(ctx context.Context) ([]domain.TriggerRule, error) {
	return collectTriggerRules(t.tx.Query(ctx, `SELECT `+triggerRuleColumns+` FROM trigger_rules`))
}

// ReserveContacts implements app.TriggerTx. The UPDATE takes a row lock only on members
// it reserves, and a concurrent reservation re-checks last_invited_at once that lock is
// released, so two transactions cannot both reserve a member.
func (t *Tx) ReserveContacts(ctx context.Context, memberIDs []string, now, notAfter time.Time) ([]string, error) {
	rows, err := t.tx.Query(ctx, `
		UPDATE members m SET last_invited_at = $2
		WHERE m.member_id = ANY($1) AND m.survey_consent
		  AND (m.last_invited_at IS NULL OR m.last_invited_at <= $3)
		  AND NOT EXISTS (SELECT 1 FROM open_cases c WHERE c.member_id = m.member_id)
		RETURNING m.member_id`, memberIDs, now, notAfter)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// AddSuppressions implements app.TriggerTx.
func (t *Tx) AddSuppressions(ctx context.Context, ss []domain.Suppression) ([]string, error) {
	n := len(ss)
	ids, invs, members, rules, tps, keys, reasons := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	at := make([]time.Time, n)
	for i, s := range ss {
		ids[i], invs[i], members[i], rules[i], tps[i], keys[i], reasons[i], at[i] =
			s.ID, s.InvitationID, s.MemberID, s.TriggerID, string(s.Touchpoint), s.Key, string(s.Reason), s.At
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO suppressions (id, invitation_id, member_id, trigger_id, touchpoint, touchpoint_key, reason, suppressed_at)
		SELECT u.id, nullif(u.inv, '')::uuid, nullif(u.m, ''), nullif(u.r, '')::uuid, u.tp, u.k, u.reason, u.at
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
		     AS u(id, inv, m, r, tp, k, reason, at)
		ON CONFLICT DO NOTHING
		RETURNING id::text`, ids, invs, members, rules, tps, keys, reasons, at)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// RecordReturns implements app.TriggerTx. The insert waits for a transaction that
// registered one of the keys (RegisterPurchases) to end; the UPDATE, a statement after
// it, then sees that transaction's invitation.
func (t *Tx) RecordReturns(ctx context.Context, keys []string, at time.Time) ([]domain.Invitation, error) {
	if _, err := t.tx.Exec(ctx, `
		INSERT INTO purchase_keys (trigger_key, returned_at)
		SELECT k, $2::timestamptz FROM (SELECT DISTINCT k FROM unnest($1::text[]) AS k ORDER BY k) keys
		ON CONFLICT (trigger_key) DO UPDATE SET returned_at = coalesce(purchase_keys.returned_at, EXCLUDED.returned_at)`,
		keys, at); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, `
		UPDATE invitations i SET status = 'SUPPRESSED', suppressed_reason = 'RETURNED', updated_at = $2
		WHERE i.trigger_key = ANY($1) AND i.status = 'SCHEDULED'
		RETURNING `+invitationColumns+`, coalesce(i.trigger_id::text, '')`, keys, at)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Invitation
	for rows.Next() {
		var triggerID string
		inv, err := scanInvitation(rows, &triggerID)
		if err != nil {
			return nil, err
		}
		inv.TriggerID, inv.Status = triggerID, domain.StatusSuppressed
		out = append(out, inv)
	}
	return out, rows.Err()
}

// RegisterPurchases implements app.TriggerTx, in key order (as RecordReturns) so that
// two transactions registering overlapping keys cannot deadlock on them.
func (t *Tx) RegisterPurchases(ctx context.Context, keys []string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `
		INSERT INTO purchase_keys (trigger_key)
		SELECT k FROM (SELECT DISTINCT k FROM unnest($1::text[]) AS k ORDER BY k) keys
		ON CONFLICT (trigger_key) DO UPDATE SET trigger_key = EXCLUDED.trigger_key
		RETURNING trigger_key, returned_at IS NOT NULL`, keys)
	if err != nil {
		return nil, err
	}
	var returned []string
	var key string
	var isReturned bool
	_, err = pgx.ForEachRow(rows, []any{&key, &isReturned}, func() error {
		if isReturned {
			returned = append(returned, key)
		}
		return nil
	})
	return returned, err
}

// OpenCases implements app.TriggerTx.
func (t *Tx) OpenCases(ctx context.Context, cs []app.Case) error {
	n := len(cs)
	ids, members, opened := make([]string, n), make([]string, n), make([]time.Time, n)
	for i, c := range cs {
		ids[i], members[i], opened[i] = c.ID, c.MemberID, c.OpenedAt
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO open_cases (case_id, member_id, opened_at)
		SELECT u.id, u.m, u.at FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(id, m, at)
		WHERE NOT EXISTS (SELECT 1 FROM erased_members e WHERE e.member_id = u.m)
		ON CONFLICT DO NOTHING`, ids, members, opened)
	return err
}

// CloseCases implements app.TriggerTx.
func (t *Tx) CloseCases(ctx context.Context, caseIDs []string) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM open_cases WHERE case_id = ANY($1)`, caseIDs)
	return err
}

// UpdateMembers implements app.TriggerTx: one statement per kind of update; of several
// updates of a member and kind in the batch, the latest.
func (t *Tx) UpdateMembers(ctx context.Context, us []app.MemberUpdate) error {
	latest := map[app.MemberUpdateKind]map[string]app.MemberUpdate{}
	for _, u := range us {
		if latest[u.Kind] == nil {
			latest[u.Kind] = map[string]app.MemberUpdate{}
		}
		if l, ok := latest[u.Kind][u.MemberID]; !ok || !u.AsOf.Before(l.AsOf) {
			latest[u.Kind][u.MemberID] = u
		}
	}
	b := &pgx.Batch{}
	if ps := latest[app.UpdateProfile]; len(ps) > 0 {
		var ids, emails, phones, locales, zones, tiers, tags []string
		var asOf []time.Time
		for _, u := range ps {
			tagJSON, _ := json.Marshal(nonNil(u.Profile.Tags))
			ids, emails, phones = append(ids, u.MemberID), append(emails, u.Profile.Email), append(phones, u.Profile.Phone)
			locales, zones, tiers = append(locales, u.Profile.Locale), append(zones, u.Profile.TimeZone), append(tiers, u.Profile.Tier)
			tags, asOf = append(tags, string(tagJSON)), append(asOf, u.AsOf)
		}
		b.Queue(`
			UPDATE members m SET email = u.email, phone = u.phone, time_zone = u.tz,
				locale = CASE WHEN u.locale <> '' THEN u.locale ELSE m.locale END,
				tags = ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb)),
				tier = CASE WHEN m.tier_as_of IS NULL OR m.tier_as_of <= u.as_of THEN u.tier ELSE m.tier END,
				tier_as_of = CASE WHEN m.tier_as_of IS NULL OR m.tier_as_of <= u.as_of THEN u.as_of ELSE m.tier_as_of END,
				profile_as_of = u.as_of, updated_at = now()
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
			     AS u(id, email, phone, locale, tz, tier, tags, as_of)
			WHERE m.member_id = u.id AND (m.profile_as_of IS NULL OR m.profile_as_of <= u.as_of)`,
			ids, emails, phones, locales, zones, tiers, tags, asOf)
	}
	if ts := latest[app.UpdateTier]; len(ts) > 0 {
		var ids, tiers []string
		var asOf []time.Time
		for _, u := range ts {
			ids, tiers, asOf = append(ids, u.MemberID), append(tiers, u.Profile.Tier), append(asOf, u.AsOf)
		}
		b.Queue(`
			UPDATE members m SET tier = u.tier, tier_as_of = u.as_of, updated_at = now()
			FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(id, tier, as_of)
			WHERE m.member_id = u.id AND (m.tier_as_of IS NULL OR m.tier_as_of <= u.as_of)`, ids, tiers, asOf)
	}
	if b.Len() == 0 {
		return nil
	}
	return t.tx.SendBatch(ctx, b).Close()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CreateTriggerRule implements app.TriggerTx.
func (t *Tx) CreateTriggerRule(ctx context.Context, r domain.TriggerRule, idempotencyKey, requestHash string) (domain.TriggerRule, string, bool, error) {
	tps, chs := ruleArgs(r)
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO trigger_rules (id, version, active, name, touchpoints, condition, survey_id, delay_seconds,
		                           sampling_rate, channels, priority, idempotency_key, request_hash, created_at, updated_at,
		                           exempt_from_frequency_cap)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, nullif($12, ''), $13, $14, $14, $15)
		ON CONFLICT (idempotency_key) DO NOTHING`,
		r.ID, r.Version, r.Active, r.Name, tps, r.Condition, r.SurveyID, int64(r.Delay/time.Second),
		r.SamplingRate, chs, r.Priority, idempotencyKey, requestHash, r.CreatedAt, r.ExemptFromFrequencyCap)
	if err != nil {
		return domain.TriggerRule{}, "", false, err
	}
	if tag.RowsAffected() == 0 {
		var hash string
		stored, err := scanTriggerRule(t.tx.QueryRow(ctx, `SELECT `+triggerRuleColumns+`, request_hash FROM trigger_rules
			WHERE idempotency_key = $1`, idempotencyKey), &hash)
		return stored, hash, false, err
	}
	if err := t.bumpEpoch(ctx); err != nil {
		return domain.TriggerRule{}, "", false, err
	}
	r.Delay = r.Delay.Truncate(time.Second)
	return r, requestHash, true, nil
}

func (t *Tx) bumpEpoch(ctx context.Context) error {
	_, err := t.tx.Exec(ctx, `UPDATE trigger_rules_epoch SET epoch = epoch + 1`)
	return err
}

// LockTriggerRule implements app.TriggerTx.
func (t *Tx) LockTriggerRule(ctx context.Context, id string) (domain.TriggerRule, error) {
	return scanTriggerRule(t.tx.QueryRow(ctx, `SELECT `+triggerRuleColumns+` FROM trigger_rules WHERE id = $1 FOR UPDATE`, id))
}

// SaveTriggerRule implements app.TriggerTx.
func (t *Tx) SaveTriggerRule(ctx context.Context, r domain.TriggerRule) error {
	tps, chs := ruleArgs(r)
	if _, err := t.tx.Exec(ctx, `
		UPDATE trigger_rules SET version = $2, active = $3, name = $4, touchpoints = $5, condition = $6, survey_id = $7,
			delay_seconds = $8, sampling_rate = $9, channels = $10, priority = $11, updated_at = $12,
			exempt_from_frequency_cap = $13
		WHERE id = $1`,
		r.ID, r.Version, r.Active, r.Name, tps, r.Condition, r.SurveyID, int64(r.Delay/time.Second),
		r.SamplingRate, chs, r.Priority, r.UpdatedAt, r.ExemptFromFrequencyCap); err != nil {
		return err
	}
	return t.bumpEpoch(ctx)
}

// SurveyUsable implements app.TriggerTx. A survey's retirement (retired_at) is read
// through the row's JSON, so that the statement works whether or not the column exists.
func (t *Tx) SurveyUsable(ctx context.Context, surveyID string) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM surveys s WHERE s.id = $1::uuid AND to_jsonb(s) ->> 'retired_at' IS NULL)`,
		surveyID).Scan(&ok)
	return ok, err
}

// TriggerRule implements app.TriggerStore.
func (s *Store) TriggerRule(ctx context.Context, id string) (domain.TriggerRule, error) {
	return scanTriggerRule(s.db.Pool.QueryRow(ctx, `SELECT `+triggerRuleColumns+` FROM trigger_rules WHERE id = $1`, id))
}

// ListTriggerRules implements app.TriggerStore.
func (s *Store) ListTriggerRules(ctx context.Context, includeInactive bool) ([]domain.TriggerRule, error) {
	return collectTriggerRules(s.db.Pool.Query(ctx, `SELECT `+triggerRuleColumns+` FROM trigger_rules
		WHERE active OR $1 ORDER BY priority DESC, created_at, id`, includeInactive))
}

// ListSuppressions implements app.TriggerStore.
func (s *Store) ListSuppressions(ctx context.Context, f app.SuppressionFilter, after *app.Cursor, limit int) ([]domain.Suppression, error) {
	var afterAt *time.Time
	afterID := "00000000-0000-0000-0000-000000000000"
	if after != nil {
		afterAt, afterID = &after.CreatedAt, after.ID
	}
	rows, err := s.db.Pool.Query(ctx, `
		SELECT id::text, coalesce(invitation_id::text, ''), coalesce(member_id, ''), coalesce(trigger_id::text, ''),
		       touchpoint, touchpoint_key, reason, suppressed_at
		FROM suppressions
		WHERE ($1 = '' OR member_id = $1) AND ($2 = '' OR reason = $2)
		  AND ($3::timestamptz IS NULL OR (suppressed_at, id) < ($3, $4::uuid))
		ORDER BY suppressed_at DESC, id DESC
		LIMIT $5`, f.MemberID, string(f.Reason), afterAt, afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanSuppression)
}

// memberTriggerData adds to a member's export what trigger rules and the contact policy
// keep of them: their profile, suppressions and open cases.
func memberTriggerData(ctx context.Context, tx pgx.Tx, d *domain.MemberData) error {
	if d.Member != nil {
		p := &d.Member.Profile
		if err := tx.QueryRow(ctx, `SELECT email, phone, time_zone, tier, tags FROM members WHERE member_id = $1`, d.MemberID).
			Scan(&p.Email, &p.Phone, &p.TimeZone, &p.Tier, &p.Tags); err != nil {
			return err
		}
		p.Locale = d.Member.Locale
	}
	rows, err := tx.Query(ctx, `
		SELECT id::text, coalesce(invitation_id::text, ''), coalesce(member_id, ''), coalesce(trigger_id::text, ''),
		       touchpoint, touchpoint_key, reason, suppressed_at
		FROM suppressions WHERE member_id = $1 ORDER BY suppressed_at DESC, id DESC`, d.MemberID)
	if err != nil {
		return err
	}
	if d.Suppressions, err = pgx.CollectRows(rows, scanSuppression); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT case_id FROM open_cases WHERE member_id = $1 ORDER BY opened_at, case_id`, d.MemberID)
	if err != nil {
		return err
	}
	d.OpenCases, err = pgx.CollectRows(rows, pgx.RowTo[string])
	return err
}

func scanSuppression(row pgx.CollectableRow) (domain.Suppression, error) {
	var x domain.Suppression
	var tp, reason string
	err := row.Scan(&x.ID, &x.InvitationID, &x.MemberID, &x.TriggerID, &tp, &x.Key, &reason, &x.At)
	x.Touchpoint, x.Reason, x.At = domain.Touchpoint(tp), domain.SuppressionReason(reason), x.At.UTC()
	return x, err
}
