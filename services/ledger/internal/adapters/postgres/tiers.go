package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// tierProgrammeQuery reads the programme and its tiers, by rank.
const tierProgrammeQuery = `
	SELECT p.basis, p.window_months, p.grace_seconds, p.currency, p.updated_at,
		t.code, t.name, t.rank, t.min_points, t.min_spend_minor
	FROM tier_programme p CROSS JOIN tiers t
	ORDER BY t.rank`

func collectTierProgramme(rows pgx.Rows) (domain.TierProgramme, error) {
	var (
		p     domain.TierProgramme
		t     domain.Tier
		grace int64
	)
	_, err := pgx.ForEachRow(rows, []any{&p.Basis, &p.WindowMonths, &grace, &p.Currency, at(&p.UpdatedAt),
		&t.Code, &t.Name, &t.Rank, &t.MinPoints, &t.MinSpendMinor}, func() error {
		p.Tiers = append(p.Tiers, t)
		return nil
	})
	p.Grace = time.Duration(grace) * time.Second
	return p, err
}

func tierProgramme(ctx context.Context, q querier) (domain.TierProgramme, error) {
	rows, err := q.Query(ctx, tierProgrammeQuery)
	if err != nil {
		return domain.TierProgramme{}, err
	}
	return collectTierProgramme(rows)
}

// TierProgramme reads the programme.
func (s *Store) TierProgramme(ctx context.Context) (domain.TierProgramme, error) {
	return tierProgramme(ctx, s.db.Pool)
}

func (t *ledgerTx) TierProgramme(ctx context.Context) (domain.TierProgramme, error) {
	return tierProgramme(ctx, t.tx)
}

func (t *ledgerTx) SaveTierProgramme(ctx context.Context, p domain.TierProgramme) error {
	n := len(p.Tiers)
	codes, names := make([]string, n), make([]string, n)
	ranks := make([]int32, n)
	points, spend := make([]int64, n), make([]int64, n)
	for i, x := range p.Tiers {
		codes[i], names[i], ranks[i], points[i], spend[i] = x.Code, x.Name, int32(x.Rank), x.MinPoints, x.MinSpendMinor
	}
	var b pgx.Batch
	b.Queue(`
		INSERT INTO tier_programme (id, basis, window_months, grace_seconds, currency, updated_at)
		VALUES (1, $1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET basis = excluded.basis, window_months = excluded.window_months,
			grace_seconds = excluded.grace_seconds, currency = excluded.currency, updated_at = excluded.updated_at`,
		string(p.Basis), p.WindowMonths, int64(p.Grace/time.Second), p.Currency, p.UpdatedAt)
	// Replaced whole: ranks are unique, and an update in place could collide midway.
	b.Queue(`DELETE FROM tiers`)
	b.Queue(`INSERT INTO tiers (code, name, rank, min_points, min_spend_minor)
		SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::int8[], $5::int8[])`, codes, names, ranks, points, spend)
	return t.tx.SendBatch(ctx, &b).Close()
}

func (t *ledgerTx) AddQualifying(ctx context.Context, qs []domain.Qualifying) (domain.TierProgramme, error) {
	n := len(qs)
	members := make([]string, n)
	months := make([]time.Time, n)
	points, spend := make([]int64, n), make([]int64, n)
	for i, q := range qs {
		members[i], months[i], points[i], spend[i] = q.MemberID, q.Month, q.Points, q.SpendMinor
	}
	var (
		b pgx.Batch
		p domain.TierProgramme
	)
	// Rows in (member, month) order, the one order every writer takes.
	b.Queue(`
		INSERT INTO tier_qualifying AS q (member_id, month, points, spend_minor)
		SELECT u.member::uuid, (u.month AT TIME ZONE 'UTC')::date, u.points, u.spend
		FROM unnest($1::text[], $2::timestamptz[], $3::int8[], $4::int8[]) AS u(member, month, points, spend)
		ORDER BY 1, 2
		ON CONFLICT (member_id, month) DO UPDATE
			SET points = q.points + excluded.points, spend_minor = q.spend_minor + excluded.spend_minor`,
		members, months, points, spend)
	b.Queue(tierProgrammeQuery).Query(func(rows pgx.Rows) error {
		var err error
		p, err = collectTierProgramme(rows)
		return err
	})
	return p, t.tx.SendBatch(ctx, &b).Close()
}

// tierStateQuery reads the standing of the members the CTE "page" locked, with their
// figures since $1, in id order.
const tierStateQuery = `
	SELECT page.id::text, page.tier, page.tier_downgrade_due, COALESCE(page.manual_tier, ''), page.manual_tier_until,
		COALESCE(sum(q.points), 0)::int8, COALESCE(sum(q.spend_minor), 0)::int8
	FROM page LEFT JOIN tier_qualifying q ON q.member_id = page.id AND q.month >= ($1::timestamptz AT TIME ZONE 'UTC')::date
	GROUP BY page.id, page.tier, page.tier_downgrade_due, page.manual_tier, page.manual_tier_until
	ORDER BY page.id`

func collectTierStates(rows pgx.Rows) ([]domain.TierState, error) {
	var out []domain.TierState
	var s domain.TierState
	_, err := pgx.ForEachRow(rows, []any{&s.MemberID, &s.Tier, at(&s.DowngradeDue), &s.ManualTier, at(&s.ManualUntil),
		&s.Figures.Points, &s.Figures.SpendMinor}, func() error {
		out = append(out, s)
		return nil
	})
	return out, err
}

const tierPageColumns = `id, tier, tier_downgrade_due, manual_tier, manual_tier_until`

func (t *ledgerTx) LockTierStates(ctx context.Context, ids []string, from time.Time) ([]domain.TierState, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `WITH page AS (
		SELECT `+tierPageColumns+` FROM members
		WHERE id = ANY($2::uuid[]) AND erased_at IS NULL
		ORDER BY id FOR UPDATE)`+tierStateQuery, from, ids)
	if err != nil {
		return nil, err
	}
	return collectTierStates(rows)
}

func (t *ledgerTx) TierStates(ctx context.Context, ids []string, from time.Time) ([]domain.TierState, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `WITH page AS (
		SELECT `+tierPageColumns+` FROM members
		WHERE id = ANY($2::uuid[]) AND erased_at IS NULL)`+tierStateQuery, from, ids)
	if err != nil {
		return nil, err
	}
	return collectTierStates(rows)
}

func (t *ledgerTx) LockTierPage(ctx context.Context, after string, limit int, from time.Time) ([]domain.TierState, error) {
	if after == "" {
		after = "00000000-0000-0000-0000-000000000000"
	}
	rows, err := t.tx.Query(ctx, `WITH page AS (
		SELECT `+tierPageColumns+` FROM members
		WHERE id > $2::uuid AND erased_at IS NULL
		ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)`+tierStateQuery, from, after, limit)
	if err != nil {
		return nil, err
	}
	return collectTierStates(rows)
}

func (t *ledgerTx) SaveTierDecisions(ctx context.Context, ds []domain.TierDecision) (map[string]bool, error) {
	stored := make(map[string]bool, len(ds))
	if len(ds) == 0 {
		return stored, nil
	}
	n := len(ds)
	ids, tos, manuals, wasTiers, wasManuals := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	dues, untils, wasDues, wasUntils := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	for i, d := range ds {
		ids[i], tos[i], manuals[i] = d.MemberID, d.To, d.ManualTier
		dues[i], untils[i] = nullTime(d.DowngradeDue), nullTime(d.ManualUntil)
		wasTiers[i], wasManuals[i] = d.Was.Tier, d.Was.ManualTier
		wasDues[i], wasUntils[i] = nullTime(d.Was.DowngradeDue), nullTime(d.Was.ManualUntil)
	}
	// In id order, the one order every locker of members takes.
	rows, err := t.tx.Query(ctx, `
		WITH u AS (
			SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::timestamptz[],
				$6::text[], $7::timestamptz[], $8::text[], $9::timestamptz[])
				AS u(id, tier, due, manual, until, was_tier, was_due, was_manual, was_until)),
		locked AS (
			SELECT m.id FROM members m JOIN u ON u.id = m.id
			WHERE m.tier = u.was_tier AND m.tier_downgrade_due IS NOT DISTINCT FROM u.was_due
				AND COALESCE(m.manual_tier, '') = u.was_manual AND m.manual_tier_until IS NOT DISTINCT FROM u.was_until
			ORDER BY m.id FOR UPDATE OF m)
		UPDATE members m SET tier = COALESCE(NULLIF(u.tier, ''), m.tier), tier_downgrade_due = u.due,
			manual_tier = NULLIF(u.manual, ''), manual_tier_until = u.until
		FROM u, locked
		WHERE m.id = u.id AND locked.id = u.id AND m.tier = u.was_tier
			AND m.tier_downgrade_due IS NOT DISTINCT FROM u.was_due
			AND COALESCE(m.manual_tier, '') = u.was_manual AND m.manual_tier_until IS NOT DISTINCT FROM u.was_until
		RETURNING m.id::text`,
		ids, tos, dues, manuals, untils, wasTiers, wasDues, wasManuals, wasUntils)
	if err != nil {
		return nil, err
	}
	var id string
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
		stored[id] = true
		return nil
	})
	return stored, err
}

// nullTime is NULL for the zero time.
// nullTime is SQL NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// TierState reads one member's standing with their figures since from, per month too.
func (s *Store) TierState(ctx context.Context, memberID string, from time.Time) (domain.TierState, error) {
	var st domain.TierState
	err := s.db.Pool.QueryRow(ctx, `SELECT id::text, tier, tier_downgrade_due, COALESCE(manual_tier, ''), manual_tier_until
		FROM members WHERE id = $1`, memberID).Scan(&st.MemberID, &st.Tier, at(&st.DowngradeDue), &st.ManualTier, at(&st.ManualUntil))
	if errors.Is(err, pgx.ErrNoRows) {
		return st, domain.ErrMemberNotFound
	}
	if err != nil {
		return st, err
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT month::timestamp AT TIME ZONE 'UTC', points, spend_minor FROM tier_qualifying
		WHERE member_id = $1 AND month >= ($2::timestamptz AT TIME ZONE 'UTC')::date ORDER BY month`, memberID, from)
	if err != nil {
		return st, err
	}
	var m domain.MonthFigures
	_, err = pgx.ForEachRow(rows, []any{at(&m.Month), &m.Points, &m.SpendMinor}, func() error {
		st.FiguresMonths = append(st.FiguresMonths, m)
		st.Figures.Points += m.Points
		st.Figures.SpendMinor += m.SpendMinor
		return nil
	})
	return st, err
}
