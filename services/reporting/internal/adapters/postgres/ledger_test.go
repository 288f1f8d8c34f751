package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/reporting/internal/adapters/postgres"
	"github.com/treue/treue/services/reporting/internal/app"
)

// A batch of credits becomes one counter increment, not one write per event.
func TestLedgerBatchFoldsIntoOneRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := migratedPool(t, 2)
	store := postgres.New(pg.NewDB(pool, nil), 4)
	application, err := app.New(app.Deps{Store: store, Clock: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	var seq atomic.Int64
	var want int64
	for range 3 {
		moves := creditedBatch(t, &seq)
		// As a consumer runs it: in the batch's transaction.
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return application.Commands.RecordPointMovements.Handle(pg.WithTx(ctx, tx), moves)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for n := int64(1); n <= seq.Load(); n++ {
		want += 10 + n%90
	}

	totals, err := store.PointsTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if totals.Credited != want {
		t.Errorf("credited = %d, want %d", totals.Credited, want)
	}
	var rows, movements int64
	if err := pool.QueryRow(ctx, `SELECT count(*), sum(movements)::bigint FROM points_daily`).Scan(&rows, &movements); err != nil {
		t.Fatal(err)
	}
	if rows > 3 || movements != 3*500 {
		t.Errorf("%d counter rows holding %d movements; want at most one row per batch and 1500 movements", rows, movements)
	}
}

// TestNoReadModelNamesAMember holds reporting's tables to what erasure and export
// (Tx.EraseMembers, app.ExportMember) rely on: no column of a read model can hold a
// member's id or personal data. A table that gains one must be erased and exported
// before it is listed here.
func TestNoReadModelNamesAMember(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := migratedPool(t, 2)
	rows, err := pool.Query(ctx, `
		SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = current_schema()
		  AND table_name NOT IN ('inbox', 'outbox', 'dead_letters') AND table_name NOT LIKE 'goose%'
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	// Counts by day, touchpoint, store, kind, counter and topic, and cases by their id, kind, team,
	// store, outcome, times and loop: nothing of a person.
	want := map[string]bool{
		"cases.case_id": true, "cases.kind": true, "cases.team": true, "cases.touchpoint": true, "cases.store_id": true,
		"cases.outcome": true, "cases.opened_at": true, "cases.due_at": true, "cases.resolved_at": true,
		// The loop: times, counts and the follow-up answer's score, satisfied and solved;
		// never its comment, response or member.
		"cases.first_contact_at": true, "cases.first_contact_due_at": true, "cases.reopened_at": true,
		"cases.reopens": true, "cases.merged_at": true, "cases.escalation_level": true, "cases.reminded": true,
		"cases.follow_up_at": true, "cases.follow_up_kind": true, "cases.follow_up_score": true,
		"cases.follow_up_satisfied": true, "cases.follow_up_solved": true, "cases.goodwill_points": true,
		"cases.goodwill_coupon": true, "cases.waiting_at": true, "cases.resumed_at": true,
		"coupons_daily.day": true, "coupons_daily.issued": true, "coupons_daily.redeemed": true,
		"nps_daily.day": true, "nps_daily.touchpoint": true, "nps_daily.store_id": true,
		"nps_daily.promoters": true, "nps_daily.passives": true, "nps_daily.detractors": true,
		"points_daily.day": true, "points_daily.counter": true, "points_daily.shard": true,
		"points_daily.points": true, "points_daily.movements": true, "points_daily.updated_at": true,
		"scores_daily.day": true, "scores_daily.touchpoint": true, "scores_daily.store_id": true, "scores_daily.kind": true,
		"scores_daily.responses": true, "scores_daily.score_sum": true, "scores_daily.favourable": true,
		"survey_funnel_daily.day": true, "survey_funnel_daily.step": true, "survey_funnel_daily.reason": true,
		"survey_funnel_daily.count": true,
		"topic_mentions_daily.day":  true, "topic_mentions_daily.store_id": true, "topic_mentions_daily.topic": true,
		"topic_mentions_daily.mentions": true, "topic_mentions_daily.promoters": true, "topic_mentions_daily.passives": true,
		"topic_mentions_daily.detractors": true, "topic_mentions_daily.nps_score_sum": true,
		"topic_mentions_daily.csat_responses": true, "topic_mentions_daily.csat_score_sum": true, "topic_mentions_daily.csat_favourable": true,
		"topic_mentions_daily.ces_responses": true, "topic_mentions_daily.ces_score_sum": true, "topic_mentions_daily.ces_favourable": true,
	}
	for _, c := range got {
		if !want[c] {
			t.Errorf("column %s is not known to hold nothing of a member: erase it in Tx.EraseMembers and export it in app.ExportMember, then list it here", c)
		}
	}
	if len(got) != len(want) {
		t.Errorf("columns %v, want %d known ones", got, len(want))
	}
}
