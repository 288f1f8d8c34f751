package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

const ruleColumns = `id, name, priority, condition, case_kind, team, task_type, case_priority,
	(extract(epoch FROM first_contact_sla) * 1000000)::bigint, (extract(epoch FROM due_in) * 1000000)::bigint,
	active, version`

func scanRule(row pgx.CollectableRow) (domain.Rule, error) {
	var (
		r             domain.Rule
		first, resolv int64
	)
	err := row.Scan(&r.ID, &r.Name, &r.Order, &r.Condition, &r.Kind, &r.Team, &r.TaskType, &r.Priority,
		&first, &resolv, &r.Active, &r.Version)
	r.FirstContactSLA = time.Duration(first) * time.Microsecond
	r.ResolutionSLA = time.Duration(resolv) * time.Microsecond
	return r, err
}

func queryRules(ctx context.Context, q querier, where string, args ...any) ([]domain.Rule, error) {
	rows, err := q.Query(ctx, `SELECT `+ruleColumns+` FROM routing_rules `+where+` ORDER BY priority, id`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanRule)
}

func oneRule(ctx context.Context, q querier, id int64) (domain.Rule, error) {
	rules, err := queryRules(ctx, q, `WHERE id = $1`, id)
	if err != nil {
		return domain.Rule{}, err
	}
	if len(rules) == 0 {
		return domain.Rule{}, domain.ErrRuleNotFound
	}
	return rules[0], nil
}

func micros(d time.Duration) int64 { return d.Microseconds() }

// nameTaken maps a unique violation of the rule's name.
func nameTaken(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "routing_rules_name_key" {
		return domain.ErrRuleNameTaken
	}
	return err
}

// Reads, on the pool and in a transaction.

func memberTiers(ctx context.Context, q querier, ids []string) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT member_id, tier FROM members WHERE member_id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var id, tier string
	_, err = pgx.ForEachRow(rows, []any{&id, &tier}, func() error { out[id] = tier; return nil })
	return out, err
}

func storeRegions(ctx context.Context, q querier, ids []string) (map[string]domain.StoreRegion, error) {
	rows, err := q.Query(ctx, `SELECT store_id, region, store_team FROM store_regions WHERE store_id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]domain.StoreRegion{}
	var r domain.StoreRegion
	_, err = pgx.ForEachRow(rows, []any{&r.StoreID, &r.Region, &r.StoreTeam}, func() error { out[r.StoreID] = r; return nil })
	return out, err
}

func defaultRoute(ctx context.Context, q querier) (domain.DefaultRoute, error) {
	rows, err := q.Query(ctx, `SELECT task_type, team, case_priority,
		(extract(epoch FROM first_contact_sla) * 1000000)::bigint, (extract(epoch FROM resolution_sla) * 1000000)::bigint
		FROM routing_default`)
	if err != nil {
		return domain.DefaultRoute{}, err
	}
	return pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (domain.DefaultRoute, error) {
		var (
			d             domain.DefaultRoute
			first, resolv int64
		)
		err := row.Scan(&d.TaskType, &d.Team, &d.Priority, &first, &resolv)
		d.FirstContactSLA, d.ResolutionSLA = time.Duration(first)*time.Microsecond, time.Duration(resolv)*time.Microsecond
		return d, err
	})
}

func (s *Store) MemberTiers(ctx context.Context, ids []string) (map[string]string, error) {
	return memberTiers(ctx, s.db.Pool, ids)
}

func (s *Store) StoreRegions(ctx context.Context, ids []string) (map[string]domain.StoreRegion, error) {
	return storeRegions(ctx, s.db.Pool, ids)
}

func (s *Store) DefaultRoute(ctx context.Context) (domain.DefaultRoute, error) {
	return defaultRoute(ctx, s.db.Pool)
}

func (s *Store) Rules(ctx context.Context) ([]domain.Rule, error) {
	return queryRules(ctx, s.db.Pool, ``)
}

func (s *Store) Rule(ctx context.Context, id int64) (domain.Rule, []domain.RuleVersion, error) {
	r, err := oneRule(ctx, s.db.Pool, id)
	if err != nil {
		return r, nil, err
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT version, condition, team, task_type, case_priority,
		(extract(epoch FROM first_contact_sla) * 1000000)::bigint, (extract(epoch FROM resolution_sla) * 1000000)::bigint, created_at
		FROM routing_rule_versions WHERE rule_id = $1 ORDER BY version`, id)
	if err != nil {
		return r, nil, err
	}
	versions, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.RuleVersion, error) {
		var (
			v             domain.RuleVersion
			first, resolv int64
		)
		err := row.Scan(&v.Version, &v.Condition, &v.Team, &v.TaskType, &v.Priority, &first, &resolv, &v.CreatedAt)
		v.FirstContactSLA, v.ResolutionSLA = time.Duration(first)*time.Microsecond, time.Duration(resolv)*time.Microsecond
		return v, err
	})
	return r, versions, err
}

var _ app.RoutingTx = Tx{}

func (t Tx) MemberTiers(ctx context.Context, ids []string) (map[string]string, error) {
	return memberTiers(ctx, t.tx, ids)
}

func (t Tx) StoreRegions(ctx context.Context, ids []string) (map[string]domain.StoreRegion, error) {
	return storeRegions(ctx, t.tx, ids)
}

func (t Tx) DefaultRoute(ctx context.Context) (domain.DefaultRoute, error) {
	return defaultRoute(ctx, t.tx)
}

func (t Tx) CreateRule(ctx context.Context, r domain.Rule, key string) (domain.Rule, bool, error) {
	var id int64
	var ikey *string
	if key != "" {
		ikey = &key
	}
	err := t.tx.QueryRow(ctx, `
		INSERT INTO routing_rules (name, priority, condition, case_kind, team, task_type, case_priority,
			first_contact_sla, due_in, active, idempotency_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, make_interval(secs => $8::bigint / 1e6), make_interval(secs => $9::bigint / 1e6), true, $10)
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING id`,
		r.Name, r.Order, r.Condition, string(r.Kind), r.Team, string(r.TaskType), string(r.Priority),
		micros(r.FirstContactSLA), micros(r.ResolutionSLA), ikey).Scan(&id)
	created := true
	if errors.Is(err, pgx.ErrNoRows) {
		created = false
		err = t.tx.QueryRow(ctx, `SELECT id FROM routing_rules WHERE idempotency_key = $1`, key).Scan(&id)
	}
	if err != nil {
		return domain.Rule{}, false, nameTaken(err)
	}
	out, err := oneRule(ctx, t.tx, id)
	return out, created, err
}

func (t Tx) UpdateRule(ctx context.Context, id int64, r domain.Rule) (domain.Rule, error) {
	tag, err := t.tx.Exec(ctx, `
		UPDATE routing_rules SET name = $2, priority = $3, condition = $4, case_kind = $5, team = $6,
			task_type = $7, case_priority = $8,
			first_contact_sla = make_interval(secs => $9::bigint / 1e6), due_in = make_interval(secs => $10::bigint / 1e6)
		WHERE id = $1`,
		id, r.Name, r.Order, r.Condition, string(r.Kind), r.Team, string(r.TaskType), string(r.Priority),
		micros(r.FirstContactSLA), micros(r.ResolutionSLA))
	if err != nil {
		return domain.Rule{}, nameTaken(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.Rule{}, domain.ErrRuleNotFound
	}
	return oneRule(ctx, t.tx, id)
}

func (t Tx) ReorderRules(ctx context.Context, orders map[int64]int) error {
	ids, prios := make([]int64, 0, len(orders)), make([]int32, 0, len(orders))
	for id, o := range orders {
		ids, prios = append(ids, id), append(prios, int32(o))
	}
	tag, err := t.tx.Exec(ctx, `
		UPDATE routing_rules r SET priority = o.priority
		FROM unnest($1::bigint[], $2::int[]) AS o(id, priority) WHERE r.id = o.id`, ids, prios)
	if err != nil {
		return err
	}
	if int(tag.RowsAffected()) != len(orders) {
		return domain.ErrRuleNotFound // the caller's transaction rolls back
	}
	return nil
}

func (t Tx) SetRuleEnabled(ctx context.Context, id int64, enabled bool) (domain.Rule, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE routing_rules SET active = $2 WHERE id = $1`, id, enabled)
	if err != nil {
		return domain.Rule{}, err
	}
	if tag.RowsAffected() == 0 {
		return domain.Rule{}, domain.ErrRuleNotFound
	}
	return oneRule(ctx, t.tx, id)
}

func (t Tx) SetStoreRegions(ctx context.Context, regions []domain.StoreRegion) error {
	stores, names, teams := make([]string, len(regions)), make([]string, len(regions)), make([]string, len(regions))
	for i, r := range regions {
		stores[i], names[i], teams[i] = r.StoreID, r.Region, r.StoreTeam
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO store_regions (store_id, region, store_team)
		SELECT DISTINCT ON (s) s, r, t FROM unnest($1::text[], $2::text[], $3::text[]) AS x(s, r, t)
		ON CONFLICT (store_id) DO UPDATE SET region = EXCLUDED.region, store_team = EXCLUDED.store_team, updated_at = now()`,
		stores, names, teams)
	return err
}

func (t Tx) SetDefaultRoute(ctx context.Context, d domain.DefaultRoute) error {
	if d.TaskType == domain.TaskNone {
		d.Priority, d.FirstContactSLA, d.ResolutionSLA = domain.PriorityNormal, 0, 168*time.Hour
	}
	_, err := t.tx.Exec(ctx, `
		UPDATE routing_default SET task_type = $1, team = $2, case_priority = $3,
			first_contact_sla = make_interval(secs => $4::bigint / 1e6), resolution_sla = make_interval(secs => $5::bigint / 1e6),
			updated_at = now()`,
		string(d.TaskType), d.Team, string(d.Priority), micros(d.FirstContactSLA), micros(d.ResolutionSLA))
	return err
}

// UnknownTeams returns the keys no row of teams has.
func (t Tx) UnknownTeams(ctx context.Context, keys []string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT k FROM unnest($1::text[]) AS k WHERE NOT EXISTS (SELECT 1 FROM teams WHERE key = k)`, keys)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (t Tx) RecordRoutes(ctx context.Context, routes []app.RoutedResponse) ([]string, error) {
	if len(routes) == 0 {
		return nil, nil
	}
	n := len(routes)
	ids, tasks, teams := make([]string, n), make([]string, n), make([]string, n)
	rules, versions := make([]*int64, n), make([]*int32, n)
	for i, r := range routes {
		ids[i], tasks[i], teams[i] = r.ResponseID, string(r.Route.Rule.TaskType), r.Route.Team
		if !r.Route.Default {
			id, v := r.Route.Rule.ID, int32(r.Route.Rule.Version)
			rules[i], versions[i] = &id, &v
		}
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO routed_responses (response_id, rule_id, rule_version, task_type, team, routed_at)
		SELECT * , now() FROM unnest($1::text[], $2::bigint[], $3::int[], $4::text[], $5::text[])
		ON CONFLICT (response_id) DO NOTHING
		RETURNING response_id`, ids, rules, versions, tasks, teams)
	if err != nil {
		return nil, fmt.Errorf("record routes: %w", err)
	}
	first, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("record routes: %w", err)
	}
	return first, nil
}

func (t Tx) UpsertMembers(ctx context.Context, members []app.MemberFacts) error {
	n := len(members)
	ids, tiers, locales, at := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	names, emails, phones := make([]string, n), make([]string, n), make([]string, n)
	for i, m := range members {
		ids[i], tiers[i], locales[i], at[i] = m.MemberID, m.Tier, m.Locale, m.UpdatedAt
		names[i], emails[i], phones[i] = m.DisplayName, m.Email, m.Phone
	}
	// In a batch, a member's announcements apply in their order of time.
	_, err := t.tx.Exec(ctx, `
		WITH batch AS (
			SELECT DISTINCT ON (m) m, t, l, a, n, e, p
			FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[]) AS x(m, t, l, a, n, e, p)
			WHERE NOT EXISTS (SELECT 1 FROM erased_members e WHERE e.member_id = x.m)
			ORDER BY m, a DESC
		)
		INSERT INTO members AS k (member_id, tier, locale, updated_at, display_name, email, phone)
		SELECT m, t, l, a, n, e, p FROM batch
		ON CONFLICT (member_id) DO UPDATE SET
			tier = coalesce(nullif(EXCLUDED.tier, ''), k.tier),
			locale = coalesce(nullif(EXCLUDED.locale, ''), k.locale),
			display_name = coalesce(nullif(EXCLUDED.display_name, ''), k.display_name),
			email = coalesce(nullif(EXCLUDED.email, ''), k.email),
			phone = coalesce(nullif(EXCLUDED.phone, ''), k.phone),
			updated_at = EXCLUDED.updated_at
		WHERE k.updated_at <= EXCLUDED.updated_at`, ids, tiers, locales, at, names, emails, phones)
	return err
}
