// Package postgres is reporting's store: the read models in Postgres, written in the
// transactions the use cases run in and read back for the queries. SQL only.
package postgres

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/internal/domain"
)

// Store implements app.Store over the service's database.
type Store struct {
	db     *pg.DB
	shards int
}

var _ app.Store = (*Store)(nil)

// New returns the store over db (the runtime's, whose commits wake the relay) whose
// points counters are spread over shards rows per (day, counter).
func New(db *pg.DB, shards int) *Store {
	return &Store{db: db, shards: max(shards, 1)}
}

// InTx runs fn in the transaction ctx carries (a consumer's batch) or in a new one. It
// picks one points-counter shard for all that fn writes: concurrent batches most likely
// touch different rows.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return fn(ctx, &Tx{tx: tx, shard: rand.IntN(s.shards)})
	})
}

// Tx implements app.Tx over one transaction. Each method is one set-based statement,
// whatever the batch size.
type Tx struct {
	tx    pgx.Tx
	shard int
}

func (w *Tx) AddNps(ctx context.Context, cells []domain.NpsCell) error {
	days := make([]time.Time, len(cells))
	touchpoints := make([]string, len(cells))
	stores := make([]string, len(cells))
	promoters := make([]int64, len(cells))
	passives := make([]int64, len(cells))
	detractors := make([]int64, len(cells))
	for i, c := range cells {
		days[i], touchpoints[i], stores[i] = c.Day, c.Touchpoint, c.StoreID
		promoters[i], passives[i], detractors[i] = c.Promoters, c.Passives, c.Detractors
	}
	_, err := w.tx.Exec(ctx, `
		INSERT INTO nps_daily AS t (day, touchpoint, store_id, promoters, passives, detractors)
		SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
		ON CONFLICT (day, touchpoint, store_id) DO UPDATE SET
			promoters  = t.promoters + EXCLUDED.promoters,
			passives   = t.passives + EXCLUDED.passives,
			detractors = t.detractors + EXCLUDED.detractors`,
		days, touchpoints, stores, promoters, passives, detractors)
	if err != nil {
		return fmt.Errorf("add nps: %w", err)
	}
	return nil
}

func (w *Tx) AddScores(ctx context.Context, cells []domain.ScoreCell) error {
	n := len(cells)
	days := make([]time.Time, n)
	touchpoints, stores, kinds := make([]string, n), make([]string, n), make([]string, n)
	responses, sums, favourable := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, c := range cells {
		days[i], touchpoints[i], stores[i], kinds[i] = c.Day, c.Touchpoint, c.StoreID, string(c.Kind)
		responses[i], sums[i], favourable[i] = c.Responses, c.ScoreSum, c.Favourable
	}
	_, err := w.tx.Exec(ctx, `
		INSERT INTO scores_daily AS t (day, touchpoint, store_id, kind, responses, score_sum, favourable)
		SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[])
		ON CONFLICT (day, touchpoint, store_id, kind) DO UPDATE SET
			responses  = t.responses + EXCLUDED.responses,
			score_sum  = t.score_sum + EXCLUDED.score_sum,
			favourable = t.favourable + EXCLUDED.favourable`,
		days, touchpoints, stores, kinds, responses, sums, favourable)
	if err != nil {
		return fmt.Errorf("add scores: %w", err)
	}
	return nil
}

func (w *Tx) AddFunnel(ctx context.Context, cells []domain.FunnelCell) error {
	n := len(cells)
	days := make([]time.Time, n)
	steps, reasons, counts := make([]string, n), make([]string, n), make([]int64, n)
	for i, c := range cells {
		days[i], steps[i], reasons[i], counts[i] = c.Day, string(c.Step), c.Reason, c.Count
	}
	_, err := w.tx.Exec(ctx, `
		INSERT INTO survey_funnel_daily AS t (day, step, reason, count)
		SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::bigint[])
		ON CONFLICT (day, step, reason) DO UPDATE SET count = t.count + EXCLUDED.count`,
		days, steps, reasons, counts)
	if err != nil {
		return fmt.Errorf("add funnel: %w", err)
	}
	return nil
}

func (w *Tx) AddPoints(ctx context.Context, cells []domain.PointsCell) error {
	days := make([]time.Time, len(cells))
	counters := make([]string, len(cells))
	points := make([]int64, len(cells))
	movements := make([]int64, len(cells))
	for i, c := range cells {
		days[i], counters[i], points[i], movements[i] = c.Day, string(c.Counter), c.Points, c.Movements
	}
	// Cells of one key come twice when their sum passes int64 (domain.TallyPoints): they
	// are added up here, in numeric, as the column is.
	_, err := w.tx.Exec(ctx, `
		INSERT INTO points_daily AS t (day, counter, shard, points, movements)
		SELECT u.day, u.counter, $5, sum(u.points), sum(u.movements)
		FROM unnest($1::date[], $2::text[], $3::bigint[], $4::bigint[]) AS u(day, counter, points, movements)
		GROUP BY u.day, u.counter
		ON CONFLICT (day, counter, shard) DO UPDATE SET
			points     = t.points + EXCLUDED.points,
			movements  = t.movements + EXCLUDED.movements,
			updated_at = now()`,
		days, counters, points, movements, w.shard)
	if err != nil {
		return fmt.Errorf("add points: %w", err)
	}
	return nil
}

// casesLock serialises the writers of cases (reporting-feedback and reporting-case-loop):
// a batch may upsert cases in more than one statement (one per event type), so two
// batches could otherwise lock the same rows in opposite orders and deadlock.
const casesLock = 0x7265_706f_6361_7365 // "repocase"

// caseColumns are the columns of cases in the order UpsertCases passes them.
var caseColumns = []struct{ name, array string }{
	{"case_id", "text"}, {"kind", "text"}, {"team", "text"}, {"touchpoint", "text"}, {"store_id", "text"},
	{"outcome", "text"}, {"opened_at", "timestamptz"}, {"due_at", "timestamptz"}, {"resolved_at", "timestamptz"},
	{"first_contact_at", "timestamptz"}, {"first_contact_due_at", "timestamptz"}, {"reopened_at", "timestamptz"},
	{"reopens", "bigint"}, {"merged_at", "timestamptz"}, {"escalation_level", "smallint"}, {"reminded", "boolean"},
	{"follow_up_at", "timestamptz"}, {"follow_up_kind", "text"}, {"follow_up_score", "smallint"},
	{"follow_up_satisfied", "boolean"}, {"follow_up_solved", "text"}, {"goodwill_points", "bigint"},
	{"goodwill_coupon", "boolean"}, {"waiting_at", "timestamptz"}, {"resumed_at", "timestamptz"},
}

// latestFollowUp takes the answer of the latest follow-up.
var latestFollowUp = func() string {
	var sets []string
	for _, c := range []string{"follow_up_kind", "follow_up_score", "follow_up_satisfied", "follow_up_solved"} {
		sets = append(sets, fmt.Sprintf("%s = CASE WHEN EXCLUDED.follow_up_at > COALESCE(t.follow_up_at, '-infinity') THEN EXCLUDED.%[1]s ELSE t.%[1]s END", c))
	}
	return strings.Join(sets, ",\n\t\t\t")
}()

func (w *Tx) UpsertCases(ctx context.Context, changes []domain.CaseChange) error {
	n := len(changes)
	cols := make([][]any, len(caseColumns))
	for j := range cols {
		cols[j] = make([]any, n)
	}
	for i, c := range changes {
		a := c.FollowUp
		for j, v := range []any{c.ID, c.Kind, c.Team, c.Touchpoint, c.StoreID,
			c.Outcome, nullTime(c.OpenedAt), nullTime(c.DueAt), nullTime(c.ResolvedAt),
			nullTime(c.FirstContactAt), nullTime(c.FirstContactDueAt), nullTime(c.ReopenedAt),
			c.Reopens, nullTime(c.MergedAt), int16(c.EscalationLevel), c.Reminded,
			nullTime(a.At), string(a.Kind), int16(a.Score),
			a.Satisfied, a.Solved, c.GoodwillPoints,
			c.GoodwillCoupon, nullTime(c.WaitingAt), nullTime(c.ResumedAt)} {
			cols[j][i] = v
		}
	}
	names, arrays, args := make([]string, len(caseColumns)), make([]string, len(caseColumns)), make([]any, len(caseColumns))
	for j, c := range caseColumns {
		names[j], arrays[j], args[j] = c.name, fmt.Sprintf("$%d::%s[]", j+1, c.array), cols[j]
	}
	if _, err := w.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(casesLock)); err != nil {
		return fmt.Errorf("upsert cases: %w", err)
	}
	// Each column merges as domain.MergeCaseChanges does, whatever the order the events
	// come in: what an event does not know ('' or NULL) keeps what was known; LEAST and
	// GREATEST pass over NULLs.
	_, err := w.tx.Exec(ctx, `
		INSERT INTO cases AS t (`+strings.Join(names, ", ")+`)
		SELECT * FROM unnest(`+strings.Join(arrays, ", ")+`)
		ON CONFLICT (case_id) DO UPDATE SET
			kind        = COALESCE(NULLIF(EXCLUDED.kind, ''), t.kind),
			team        = COALESCE(NULLIF(EXCLUDED.team, ''), t.team),
			touchpoint  = COALESCE(NULLIF(EXCLUDED.touchpoint, ''), t.touchpoint),
			store_id    = COALESCE(NULLIF(EXCLUDED.store_id, ''), t.store_id),
			outcome     = COALESCE(NULLIF(EXCLUDED.outcome, ''), t.outcome),
			opened_at   = COALESCE(EXCLUDED.opened_at, t.opened_at),
			due_at      = GREATEST(EXCLUDED.due_at, t.due_at),
			-- the latest resolution, while no later reopening undid it
			resolved_at = CASE WHEN GREATEST(EXCLUDED.reopened_at, t.reopened_at) IS NULL
			                     OR GREATEST(EXCLUDED.resolved_at, t.resolved_at) > GREATEST(EXCLUDED.reopened_at, t.reopened_at)
			                   THEN GREATEST(EXCLUDED.resolved_at, t.resolved_at) END,
			first_contact_at     = LEAST(EXCLUDED.first_contact_at, t.first_contact_at),
			first_contact_due_at = GREATEST(EXCLUDED.first_contact_due_at, t.first_contact_due_at),
			reopened_at          = GREATEST(EXCLUDED.reopened_at, t.reopened_at),
			reopens              = t.reopens + EXCLUDED.reopens,
			merged_at            = LEAST(EXCLUDED.merged_at, t.merged_at),
			escalation_level     = GREATEST(EXCLUDED.escalation_level, t.escalation_level),
			reminded             = t.reminded OR EXCLUDED.reminded,
			follow_up_at         = GREATEST(EXCLUDED.follow_up_at, t.follow_up_at),
			`+latestFollowUp+`,
			goodwill_points      = GREATEST(EXCLUDED.goodwill_points, t.goodwill_points),
			goodwill_coupon      = t.goodwill_coupon OR EXCLUDED.goodwill_coupon,
			waiting_at           = GREATEST(EXCLUDED.waiting_at, t.waiting_at),
			resumed_at           = GREATEST(EXCLUDED.resumed_at, t.resumed_at)`, args...)
	if err != nil {
		return fmt.Errorf("upsert cases: %w", err)
	}
	return nil
}

func (w *Tx) AddCoupons(ctx context.Context, cells []domain.CouponCell) error {
	days := make([]time.Time, len(cells))
	issued := make([]int64, len(cells))
	redeemed := make([]int64, len(cells))
	for i, c := range cells {
		days[i], issued[i], redeemed[i] = c.Day, c.Issued, c.Redeemed
	}
	_, err := w.tx.Exec(ctx, `
		INSERT INTO coupons_daily AS t (day, issued, redeemed)
		SELECT * FROM unnest($1::date[], $2::bigint[], $3::bigint[])
		ON CONFLICT (day) DO UPDATE SET
			issued   = t.issued + EXCLUDED.issued,
			redeemed = t.redeemed + EXCLUDED.redeemed`,
		days, issued, redeemed)
	if err != nil {
		return fmt.Errorf("add coupons: %w", err)
	}
	return nil
}

// topicColumns are the counts of topic_mentions_daily, in the order of topicValues.
var topicColumns = []string{"mentions", "promoters", "passives", "detractors", "nps_score_sum",
	"csat_responses", "csat_score_sum", "csat_favourable", "ces_responses", "ces_score_sum", "ces_favourable"}

func topicValues(c domain.TopicCounts) []int64 {
	return []int64{c.Mentions, c.Promoters, c.Passives, c.Detractors, c.NpsScoreSum,
		c.CSAT.Responses, c.CSAT.ScoreSum, c.CSAT.Favourable, c.CES.Responses, c.CES.ScoreSum, c.CES.Favourable}
}

func topicCounts(v []int64) domain.TopicCounts {
	return domain.TopicCounts{
		Mentions: v[0], NpsCounts: domain.NpsCounts{Promoters: v[1], Passives: v[2], Detractors: v[3]}, NpsScoreSum: v[4],
		CSAT: domain.ScoreCounts{Responses: v[5], ScoreSum: v[6], Favourable: v[7]},
		CES:  domain.ScoreCounts{Responses: v[8], ScoreSum: v[9], Favourable: v[10]},
	}
}

func (w *Tx) AddTopics(ctx context.Context, cells []domain.TopicCell) error {
	n := len(cells)
	days := make([]time.Time, n)
	stores, topics := make([]string, n), make([]string, n)
	counts := make([][]int64, len(topicColumns))
	for j := range counts {
		counts[j] = make([]int64, n)
	}
	for i, c := range cells {
		days[i], stores[i], topics[i] = c.Day, c.StoreID, c.Topic
		for j, v := range topicValues(c.TopicCounts) {
			counts[j][i] = v
		}
	}
	args := []any{days, stores, topics}
	arrays, updates := make([]string, len(topicColumns)), make([]string, len(topicColumns))
	for j, col := range topicColumns {
		args = append(args, counts[j])
		arrays[j] = fmt.Sprintf("$%d::bigint[]", j+4)
		updates[j] = fmt.Sprintf("%s = t.%[1]s + EXCLUDED.%[1]s", col)
	}
	_, err := w.tx.Exec(ctx, `
		INSERT INTO topic_mentions_daily AS t (day, store_id, topic, `+strings.Join(topicColumns, ", ")+`)
		SELECT * FROM unnest($1::date[], $2::text[], $3::text[], `+strings.Join(arrays, ", ")+`)
		ON CONFLICT (day, store_id, topic) DO UPDATE SET `+strings.Join(updates, ", "), args...)
	if err != nil {
		return fmt.Errorf("add topics: %w", err)
	}
	return nil
}

// EraseMembers has nothing to remove: no read model names a member. nps_daily,
// scores_daily, points_daily, coupons_daily, survey_funnel_daily and topic_mentions_daily
// count by day, touchpoint, store, kind, counter, step, reason and topic; cases holds
// a case's id, kind, team, store, outcome, times and loop (escalation level, reopenings,
// the follow-up answer's score, satisfied and solved, goodwill points and coupon; never
// the member, the comment or who acted). TestNoReadModelNamesAMember fails
// when a table gains a column; one that can name a member must then be erased (or its
// link to the member dropped) here, and exported by app.ExportMember.
func (w *Tx) EraseMembers(context.Context, []string) error { return nil }

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Group dimensions of the NPS, CSAT and CES totals.
const (
	byNone = iota
	byTouchpoint
	byStore
	byDay
)

// NpsTotals sums the roll-up over p in one query, one grouping set per dimension.
func (r *Store) NpsTotals(ctx context.Context, p domain.Period) (app.NpsTotals, error) {
	t, err := groupedTotals(ctx, r, "nps_daily", []string{"promoters", "passives", "detractors"}, p, "",
		func(key string, v []int64) domain.NpsGroup {
			return domain.NpsGroup{Key: key, NpsCounts: domain.NpsCounts{Promoters: v[0], Passives: v[1], Detractors: v[2]}}
		})
	if err != nil {
		return app.NpsTotals{}, fmt.Errorf("nps totals: %w", err)
	}
	return app.NpsTotals{Overall: t.overall.NpsCounts, ByTouchpoint: t.byTouchpoint, ByStore: t.byStore, ByDay: t.byDay}, nil
}

// ScoreTotals sums the CSAT or CES roll-up over p in one query, one grouping set per
// dimension.
func (r *Store) ScoreTotals(ctx context.Context, kind domain.ScoreKind, p domain.Period) (app.ScoreTotals, error) {
	t, err := groupedTotals(ctx, r, "scores_daily", []string{"responses", "score_sum", "favourable"}, p, string(kind),
		func(key string, v []int64) domain.ScoreGroup {
			return domain.ScoreGroup{Key: key, ScoreCounts: domain.ScoreCounts{Responses: v[0], ScoreSum: v[1], Favourable: v[2]}}
		})
	if err != nil {
		return app.ScoreTotals{}, fmt.Errorf("score totals: %w", err)
	}
	return app.ScoreTotals{Overall: t.overall.ScoreCounts, ByTouchpoint: t.byTouchpoint, ByStore: t.byStore, ByDay: t.byDay}, nil
}

// totals are a roll-up's sums, overall and by group.
type totals[G any] struct {
	overall                      G
	byTouchpoint, byStore, byDay []G
}

// groupedTotals sums the columns of a daily roll-up keyed by (day, touchpoint, store_id)
// over p in one query, one grouping set per dimension; kind, unless empty, keeps the rows
// of that kind only. group makes a group of a key and the sums, in the columns' order.
// The names are the callers' constants, never input.
func groupedTotals[G any](ctx context.Context, r *Store, table string, columns []string, p domain.Period, kind string,
	group func(key string, sums []int64) G) (totals[G], error) {
	sums := make([]string, len(columns))
	for i, c := range columns {
		sums[i] = fmt.Sprintf("COALESCE(sum(%s), 0)::bigint", c)
	}
	args := []any{p.From, p.To, byTouchpoint, byStore, byDay, byNone}
	where := "day BETWEEN $1 AND $2"
	if kind != "" {
		args = append(args, kind)
		where += " AND kind = $7"
	}
	rows, err := r.db.Pool.Query(ctx, `
		SELECT CASE WHEN GROUPING(touchpoint) = 0 THEN $3::int
		            WHEN GROUPING(store_id) = 0 THEN $4::int
		            WHEN GROUPING(day) = 0 THEN $5::int
		            ELSE $6::int END,
		       COALESCE(touchpoint, store_id, to_char(day, 'YYYY-MM-DD'), ''),
		       `+strings.Join(sums, ", ")+`
		FROM `+table+`
		WHERE `+where+`
		GROUP BY GROUPING SETS ((), (touchpoint), (store_id), (day))`, args...)
	if err != nil {
		return totals[G]{}, err
	}
	var (
		t         totals[G]
		dimension int
		key       string
		values    = make([]int64, len(columns))
	)
	dest := []any{&dimension, &key}
	for i := range values {
		dest = append(dest, &values[i])
	}
	_, err = pgx.ForEachRow(rows, dest, func() error {
		g := group(key, values)
		switch dimension {
		case byNone:
			t.overall = g
		case byTouchpoint:
			t.byTouchpoint = append(t.byTouchpoint, g)
		case byStore:
			t.byStore = append(t.byStore, g)
		case byDay:
			t.byDay = append(t.byDay, g)
		}
		return nil
	})
	return t, err
}

// TopicTotals sums each topic's counts over p and over the period before it in one
// query, of one store's responses or (storeID "") of all.
func (r *Store) TopicTotals(ctx context.Context, p domain.Period, storeID string) ([]domain.TopicTotals, error) {
	before := p.Before()
	sums := make([]string, 0, 2*len(topicColumns))
	for _, when := range []string{"day >= $3", "day < $3"} {
		for _, c := range topicColumns {
			sums = append(sums, fmt.Sprintf("COALESCE(sum(%s) FILTER (WHERE %s), 0)::bigint", c, when))
		}
	}
	rows, err := r.db.Pool.Query(ctx, `
		SELECT topic, `+strings.Join(sums, ", ")+`
		FROM topic_mentions_daily
		WHERE day BETWEEN $1 AND $2 AND ($4::text = '' OR store_id = $4)
		GROUP BY topic`, before.From, p.To, p.From, storeID)
	if err != nil {
		return nil, fmt.Errorf("topic totals: %w", err)
	}
	var (
		out    []domain.TopicTotals
		topic  string
		values = make([]int64, len(sums))
	)
	dest := []any{&topic}
	for i := range values {
		dest = append(dest, &values[i])
	}
	_, err = pgx.ForEachRow(rows, dest, func() error {
		n := len(topicColumns)
		out = append(out, domain.TopicTotals{Topic: topic, Current: topicCounts(values[:n]), Previous: topicCounts(values[n:])})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("topic totals: %w", err)
	}
	return out, nil
}

// FunnelCells reads the funnel's cells of the days of p, summed over the days.
func (r *Store) FunnelCells(ctx context.Context, p domain.Period) ([]domain.FunnelCell, error) {
	rows, err := r.db.Pool.Query(ctx, `
		SELECT step, reason, sum(count)::bigint FROM survey_funnel_daily
		WHERE day BETWEEN $1 AND $2 GROUP BY step, reason`, p.From, p.To)
	if err != nil {
		return nil, fmt.Errorf("survey funnel: %w", err)
	}
	cells, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.FunnelCell, error) {
		var c domain.FunnelCell
		err := row.Scan(&c.Step, &c.Reason, &c.Count)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("survey funnel: %w", err)
	}
	return cells, nil
}

// PointsTotals sums every counter's rows (days and shards). The sums are numeric and
// exact; one beyond int64 is clamped to its largest value rather than failing the read
// (domain.PointsTotals).
func (r *Store) PointsTotals(ctx context.Context) (domain.PointsTotals, error) {
	rows, err := r.db.Pool.Query(ctx, `
		SELECT counter, LEAST(sum(points), $1)::bigint FROM points_daily GROUP BY counter`, int64(math.MaxInt64))
	if err != nil {
		return domain.PointsTotals{}, fmt.Errorf("points totals: %w", err)
	}
	var (
		t       domain.PointsTotals
		counter string
		points  int64
	)
	_, err = pgx.ForEachRow(rows, []any{&counter, &points}, func() error {
		switch domain.PointsCounter(counter) {
		case domain.CounterCredited:
			t.Credited = points
		case domain.CounterReturned:
			t.Returned = points
		case domain.CounterRedeemed:
			t.Redeemed = points
		case domain.CounterExpired:
			t.Expired = points
		case domain.CounterAdjustedOut:
			t.AdjustedOut = points
		default:
			return fmt.Errorf("unknown points counter %q", counter)
		}
		return nil
	})
	if err != nil {
		return domain.PointsTotals{}, fmt.Errorf("points totals: %w", err)
	}
	return t, nil
}

// caseOpen is the condition of an open case: opened (the loop's events may come before
// the opening), neither resolved nor merged.
const caseOpen = "(opened_at IS NOT NULL AND resolved_at IS NULL AND merged_at IS NULL)"

// caseOverdue (with the time as $n) is an open case past its due time that does not wait
// for the customer (domain.CaseChange.Waiting): its clocks are paused while it waits.
func caseOverdue(n int) string {
	return fmt.Sprintf("(%s AND due_at < $%d AND NOT COALESCE(waiting_at > GREATEST(resumed_at, reopened_at, '-infinity'), false))", caseOpen, n)
}

// percentileSeconds is the p quantile (0-1), continuous, of the seconds of interval over
// the rows where it is known; 0 over none.
func percentileSeconds(p float64, interval string) string {
	return fmt.Sprintf("COALESCE(percentile_cont(%g) WITHIN GROUP (ORDER BY extract(epoch FROM %s)) FILTER (WHERE %[2]s IS NOT NULL), 0)", p, interval)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// CaseStats counts cases and takes the median follow-up time of the resolved ones.
func (r *Store) CaseStats(ctx context.Context, now time.Time) (domain.CaseStats, error) {
	var (
		s             domain.CaseStats
		medianSeconds float64
	)
	err := r.db.Pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE `+caseOpen+`),
		       count(*) FILTER (WHERE resolved_at IS NOT NULL),
		       count(*) FILTER (WHERE `+caseOverdue(1)+`),
		       `+percentileSeconds(0.5, "resolved_at - opened_at")+`
		FROM cases`, now).Scan(&s.Open, &s.Resolved, &s.Overdue, &medianSeconds)
	if err != nil {
		return domain.CaseStats{}, fmt.Errorf("case stats: %w", err)
	}
	s.MedianFollowUp = seconds(medianSeconds)
	return s, nil
}

// FollowUpStats sums the cases opened in p (of one team and store, "" for all) overall
// and by team in one query, one grouping set each; a case is overdue when open past its
// due time at now.
func (r *Store) FollowUpStats(ctx context.Context, p domain.Period, team, storeID string, now time.Time) (domain.FollowUpCounts, []domain.FollowUpGroup, error) {
	var (
		c         domain.FollowUpCounts
		times     [4]float64
		byTeam    bool
		teamName  string
		overall   domain.FollowUpCounts
		groups    []domain.FollowUpGroup
		from, end = p.Bounds()
	)
	columns := []struct {
		expr string
		dest any
	}{
		{"count(*)", &c.Opened},
		{"count(resolved_at)", &c.Resolved},
		{"count(*) FILTER (WHERE " + caseOpen + ")", &c.Open},
		{"count(*) FILTER (WHERE " + caseOverdue(5) + ")", &c.Overdue},
		{"count(merged_at)", &c.Merged},
		{"count(first_contact_at)", &c.Contacted},
		{"count(*) FILTER (WHERE first_contact_at IS NOT NULL AND first_contact_due_at IS NOT NULL)", &c.ContactedWithDue},
		{"count(*) FILTER (WHERE first_contact_at <= first_contact_due_at)", &c.ContactedInTime},
		{"count(*) FILTER (WHERE escalation_level >= 1)", &c.ReachedLevel[0]},
		{"count(*) FILTER (WHERE escalation_level >= 2)", &c.ReachedLevel[1]},
		{"count(*) FILTER (WHERE escalation_level >= 3)", &c.ReachedLevel[2]},
		{"count(*) FILTER (WHERE reminded)", &c.Reminded},
		{"count(*) FILTER (WHERE reopens > 0)", &c.Reopened},
		{"COALESCE(sum(reopens), 0)::bigint", &c.Reopens},
		{"count(follow_up_at)", &c.FollowUps},
		{"count(*) FILTER (WHERE follow_up_solved <> '')", &c.SolvedAnswered},
		{"count(*) FILTER (WHERE follow_up_solved = 'yes')", &c.SolvedYes},
		{"count(*) FILTER (WHERE follow_up_at IS NOT NULL AND follow_up_satisfied)", &c.Satisfied},
		{"count(*) FILTER (WHERE follow_up_kind = $6)", &c.FollowUpCSAT.Responses},
		{"COALESCE(sum(follow_up_score) FILTER (WHERE follow_up_kind = $6), 0)::bigint", &c.FollowUpCSAT.ScoreSum},
		{"count(*) FILTER (WHERE follow_up_kind = $6 AND follow_up_satisfied)", &c.FollowUpCSAT.Favourable},
		{"COALESCE(sum(goodwill_points), 0)::bigint", &c.GoodwillPoints},
		{"count(*) FILTER (WHERE goodwill_coupon)", &c.GoodwillCoupons},
		{percentileSeconds(0.5, "first_contact_at - opened_at"), &times[0]},
		{percentileSeconds(0.9, "first_contact_at - opened_at"), &times[1]},
		{percentileSeconds(0.5, "resolved_at - opened_at"), &times[2]},
		{percentileSeconds(0.9, "resolved_at - opened_at"), &times[3]},
	}
	exprs, dest := make([]string, len(columns)), []any{&byTeam, &teamName}
	for i, col := range columns {
		exprs[i] = col.expr
		dest = append(dest, col.dest)
	}
	rows, err := r.db.Pool.Query(ctx, `
		SELECT GROUPING(team) = 0, COALESCE(team, ''), `+strings.Join(exprs, ",\n\t\t       ")+`
		FROM cases
		WHERE opened_at >= $1 AND opened_at < $2 AND ($3::text = '' OR team = $3) AND ($4::text = '' OR store_id = $4)
		GROUP BY GROUPING SETS ((), (team))`, from, end, team, storeID, now, string(domain.KindCSAT))
	if err != nil {
		return domain.FollowUpCounts{}, nil, fmt.Errorf("follow-up stats: %w", err)
	}
	_, err = pgx.ForEachRow(rows, dest, func() error {
		c.MedianFirstContact, c.P90FirstContact = seconds(times[0]), seconds(times[1])
		c.MedianResolution, c.P90Resolution = seconds(times[2]), seconds(times[3])
		if byTeam {
			groups = append(groups, domain.FollowUpGroup{Team: teamName, FollowUpCounts: c})
		} else {
			overall = c
		}
		return nil
	})
	if err != nil {
		return domain.FollowUpCounts{}, nil, fmt.Errorf("follow-up stats: %w", err)
	}
	return overall, groups, nil
}

// CouponStats reads the all-time totals and the days of p in one round trip.
func (r *Store) CouponStats(ctx context.Context, p domain.Period) (domain.CouponStats, error) {
	var s domain.CouponStats
	b := &pgx.Batch{}
	b.Queue(`SELECT COALESCE(sum(issued), 0)::bigint, COALESCE(sum(redeemed), 0)::bigint FROM coupons_daily`).
		QueryRow(func(row pgx.Row) error { return row.Scan(&s.Issued, &s.Redeemed) })
	b.Queue(`SELECT day, issued, redeemed FROM coupons_daily WHERE day BETWEEN $1 AND $2 ORDER BY day`, p.From, p.To).
		Query(func(rows pgx.Rows) error {
			var err error
			s.ByDay, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.CouponCell, error) {
				var c domain.CouponCell
				err := row.Scan(&c.Day, &c.Issued, &c.Redeemed)
				c.Day = c.Day.UTC()
				return c, err
			})
			return err
		})
	if err := r.db.Pool.SendBatch(ctx, b).Close(); err != nil {
		return domain.CouponStats{}, fmt.Errorf("coupon stats: %w", err)
	}
	return s, nil
}

// Ping tells whether the database answers.
func (r *Store) Ping(ctx context.Context) error { return r.db.Pool.Ping(ctx) }
