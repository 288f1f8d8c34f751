package adapters_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/reporting/internal/adapters"
	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const benchBatch = 500

// BenchmarkLedgerHandler measures the reporting-ledger batch handler on a real Postgres,
// 500 ledger.points.credited events per transaction (the consumer's batch size):
//
//   - handler: the handler alone in a transaction;
//   - with_inbox: the consumer's whole transaction, inbox insert included;
//   - parallel_with_inbox: the same from 4 writers at once (replicas sharing the
//     consumer), where the sharded counters keep them from queueing on one row.
func BenchmarkLedgerHandler(b *testing.B) {
	ctx := context.Background()
	pool := migratedPool(b, 8)
	repo := adapters.NewRepository(pool, 8)
	handlers, err := adapters.NewEventHandlers(app.Commands{}, repo, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64

	apply := func(b *testing.B, withInbox bool) {
		msgs := creditedBatch(b, &seq)
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if withInbox {
				ids := make([]string, len(msgs))
				for i, m := range msgs {
					ids[i] = m.ID
				}
				// The statement bus.Consumer runs before the handler.
				if _, err := tx.Exec(ctx, `INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, "reporting-ledger", ids); err != nil {
					return err
				}
			}
			return handlers.Ledger(ctx, tx, msgs)
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

// creditedBatch builds benchBatch distinct credits, encoded as the outbox relay
// publishes them.
func creditedBatch(tb testing.TB, seq *atomic.Int64) []*bus.Message {
	tb.Helper()
	now := timestamppb.Now()
	msgs := make([]*bus.Message, benchBatch)
	for i := range msgs {
		n := seq.Add(1)
		data, err := proto.Marshal(&ledgerv1.PointsCredited{
			TransactionId: fmt.Sprint(n), MemberId: "m", Points: 10 + n%90,
			Reason: ledgerv1.PointsReason_POINTS_REASON_PURCHASE, StoreId: "s1", OccurredAt: now,
		})
		if err != nil {
			tb.Fatal(err)
		}
		msgs[i] = &bus.Message{
			ID: uuid.Must(uuid.NewV7()).String(), Subject: adapters.SubjectPointsCredited,
			Type: "treue.ledger.v1.PointsCredited", ContentType: bus.ContentTypeProto, Data: data, Deliveries: 1,
		}
	}
	return msgs
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
