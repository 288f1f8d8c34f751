package adapters_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/reporting/internal/adapters"
	"github.com/treue/treue/services/reporting/internal/app"
)

// A batch of credits becomes one counter increment, not one write per event.
func TestLedgerHandlerFoldsABatchIntoOneRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := migratedPool(t, 2)
	repo := adapters.NewRepository(pool, 4)
	handlers, err := adapters.NewEventHandlers(app.Commands{}, repo, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var seq atomic.Int64
	var want int64
	for range 3 {
		msgs := creditedBatch(t, &seq)
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return handlers.Ledger(ctx, tx, msgs) }); err != nil {
			t.Fatal(err)
		}
	}
	for n := int64(1); n <= seq.Load(); n++ {
		want += 10 + n%90
	}

	totals, err := repo.PointsTotals(ctx)
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
