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
