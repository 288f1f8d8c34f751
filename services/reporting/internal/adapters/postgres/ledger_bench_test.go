package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/reporting/internal/adapters/postgres"
	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/internal/convert"
	"github.com/treue/treue/services/reporting/internal/domain"
	"github.com/treue/treue/services/reporting/internal/ports/events"
	"github.com/treue/treue/services/reporting/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const benchBatch = 500

// BenchmarkLedgerBatch measures what the reporting-ledger consumer does with a batch of
// 500 ledger.points.credited events (its batch size) once the bus has decoded and
// validated them: convert, fold and write, on a real Postgres:
//
//   - handler: the use case alone in a transaction;
//   - with_inbox: the consumer's whole transaction, inbox insert included;
//   - parallel_with_inbox: the same from 4 writers at once (replicas sharing the
//     consumer), where the sharded counters keep them from queueing on one row.
func BenchmarkLedgerBatch(b *testing.B) {
	ctx := context.Background()
	pool := migratedPool(b, 8)
	application, err := app.New(app.Deps{Store: postgres.New(pg.NewDB(pool, nil), 8), Clock: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64

	apply := func(b *testing.B, withInbox bool) {
		moves := creditedBatch(b, &seq)
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if withInbox {
				ids := make([]string, len(moves))
				for i := range moves {
					ids[i] = uuid.Must(uuid.NewV7()).String()
				}
				// The statement bus.Consumer runs before the routes.
				if _, err := tx.Exec(ctx, `INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, events.ConsumerLedger, ids); err != nil {
					return err
				}
			}
			return application.Commands.RecordPointMovements.Handle(pg.WithTx(ctx, tx), moves)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(b.N*benchBatch)/time.Since(start).Seconds(), "events/s")
		b.ReportMetric(0, "ns/op")
	}

	b.Run("handler", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			apply(b, false)
		}
		report(b, start)
	})
	b.Run("with_inbox", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			apply(b, true)
		}
		report(b, start)
	})
	b.Run("parallel_with_inbox", func(b *testing.B) {
		b.SetParallelism(2) // 2 × GOMAXPROCS writers
		start := time.Now()
		b.RunParallel(func(p *testing.PB) {
			for p.Next() {
				apply(b, true)
			}
		})
		report(b, start)
	})
}

// creditedBatch builds benchBatch distinct credits, converted as the ledger route
// converts them.
func creditedBatch(tb testing.TB, seq *atomic.Int64) []domain.PointsMovement {
	tb.Helper()
	now := timestamppb.Now()
	moves := make([]domain.PointsMovement, benchBatch)
	for i := range moves {
		n := seq.Add(1)
		var err error
		moves[i], err = convert.PointsCredited(&ledgerv1.PointsCredited{
			TransactionId: uuid.Must(uuid.NewV7()).String(), MemberId: "m", Points: 10 + n%90,
			Reason: ledgerv1.PointsReason_POINTS_REASON_PURCHASE, StoreId: "s1", OccurredAt: now,
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return moves
}

func migratedPool(tb testing.TB, conns int32) *pgxpool.Pool {
	tb.Helper()
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testkit.Database(tb), "reporting", conns)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	err = pg.Migrate(ctx, pool, "reporting", slog.New(slog.NewTextHandler(io.Discard, nil)),
		bus.Migrations(), pg.Migration{Name: "reporting", FS: migrations.FS})
	if err != nil {
		tb.Fatal(err)
	}
	return pool
}
