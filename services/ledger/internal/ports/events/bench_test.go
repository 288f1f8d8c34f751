package events

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/cpustat"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/services/ledger/internal/adapters/postgres"
	"github.com/treue/treue/services/ledger/internal/adapters/postgres/pgtest"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/convert"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// migrated returns a pool on a fresh, migrated ledger schema.
func migrated(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testkit.Database(tb), "ledger", 4)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if err := pg.Migrate(ctx, pool, "ledger", slog.New(slog.DiscardHandler), bus.Migrations(),
		pg.Migration{Name: "ledger", FS: migrations.FS}); err != nil {
		tb.Fatal(err)
	}
	return pool
}

// newRoutesOn returns the ledger's routes over pool, as the service wires them.
func newRoutesOn(tb testing.TB, pool *pgxpool.Pool) routes {
	tb.Helper()
	rules, err := domain.NewPOSRules([]domain.Tender{{Currency: "EUR", PointsPerUnit: domain.MustRate(1, 1), MaxMinor: 10_000_000}},
		5*time.Minute, 0)
	if err != nil {
		tb.Fatal(err)
	}
	outbox, err := bus.NewOutbox(convert.Produces...)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := app.New(app.Deps{
		Store:  postgres.NewStore(pg.NewDB(pool, nil), outbox),
		Config: app.Config{POS: rules, SurveyBonusPoints: 50, HoldTTL: time.Minute},
		NewID:  func() string { return uuid.Must(uuid.NewV7()).String() },
		Now:    time.Now,
		Log:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return newRoutes(a)
}

// delivery is ev as the consumer hands it to a route: decoded, first delivery.
func delivery[T interface {
	proto.Message
	GetEventId() string
}](ev T) bus.Delivery[T] {
	return bus.Delivery[T]{Message: &bus.Message{ID: ev.GetEventId(), Deliveries: 1}, Event: ev}
}

// purchases builds n purchase deliveries spread over members.
func purchases(members []string, n int) []bus.Delivery[*posv1.PurchaseRecorded] {
	ds := make([]bus.Delivery[*posv1.PurchaseRecorded], n)
	now := timestamppb.Now()
	for i := range ds {
		ds[i] = delivery(&posv1.PurchaseRecorded{
			EventId: uuid.NewString(), StoreId: "S" + fmt.Sprint(i%20), TransactionId: fmt.Sprintf("T%09d", i),
			MemberId: members[i%len(members)], OccurredAt: now, Currency: "EUR", TotalMinor: int64(1000 + i%9000),
			Lines: []*posv1.Line{
				{Sku: "SKU-1", Description: "Coffee", Quantity: 2, AmountMinor: 500},
				{Sku: "SKU-2", Description: "Cake", Quantity: 1, AmountMinor: int64(500 + i%9000)},
			},
		})
	}
	return ds
}

// BenchmarkPOSHandler measures the purchase route on real Postgres: batches of 500
// purchases per transaction, with the inbox rows the consumer writes, as in production.
func BenchmarkPOSHandler(b *testing.B) {
	pool := migrated(b)
	members := pgtest.SeedMembers(b, pool, 2000)
	r := newRoutesOn(b, pool)
	ds := purchases(members, b.N)
	db := pg.NewDB(pool, nil)
	ctx := context.Background()
	const batch = 500
	pgBefore, pgOK := cpustat.Backends(ctx, pool)
	goBefore := cpustat.Process()
	b.ResetTimer()
	for start := 0; start < len(ds); start += batch {
		part := ds[start:min(start+batch, len(ds))]
		err := db.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			ids := make([]string, len(part))
			for i, d := range part {
				ids[i] = d.ID
			}
			if _, err := tx.Exec(ctx, `INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::text[])`, ConsumerPOS, ids); err != nil {
				return err
			}
			return r.purchases(ctx, part)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	goCPU := cpustat.Process() - goBefore
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "purchases/s")
	b.ReportMetric(float64(goCPU.Microseconds())/float64(b.N), "go-cpu-µs/purchase")
	if pgAfter, ok := cpustat.Backends(ctx, pool); ok && pgOK {
		b.ReportMetric(float64(cpustat.Since(pgBefore, pgAfter).Microseconds())/float64(b.N), "pg-cpu-µs/purchase")
	}
	var credited int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE kind = 'credit'`).Scan(&credited); err != nil {
		b.Fatal(err)
	}
	if credited != int64(b.N) {
		b.Fatalf("credited %d purchases, want %d", credited, b.N)
	}
}
