package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/cpustat"
	"github.com/treue/treue/pkg/testkit"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/services/ledger/internal/adapters/postgres/pgtest"
	"github.com/treue/treue/services/ledger/service"
)

// BenchmarkEndToEndPurchases publishes b.N purchases of enrolled members to JetStream
// and measures until the ledger has credited them all: consumer, Postgres, outbox. The
// NATS server, the publisher and the ledger share this process; Postgres's CPU is that
// of the backends serving the test database. Run it with a fixed count, e.g.
// -benchtime 60000x (make bench).
func BenchmarkEndToEndPurchases(b *testing.B) { endToEndPurchases(b, nil) }

// endToEndPurchases is BenchmarkEndToEndPurchases after prepare (when not nil) set the
// programme up.
func endToEndPurchases(b *testing.B, prepare func(*env)) {
	e := newEnv(b)
	e.start(func(c *service.Config) { c.Base.DBMaxConns = 8 })
	ctx := context.Background()
	if prepare != nil {
		prepare(e)
	}
	// Enrolling through gRPC would take longer than the benchmark.
	members := pgtest.SeedMembers(b, e.db, 2000)

	msgs := make([]*nats.Msg, b.N)
	now := timestamppb.Now()
	for i := range msgs {
		ev := &posv1.PurchaseRecorded{
			EventId: uuid.NewString(), StoreId: fmt.Sprintf("S%d", i%20), TransactionId: fmt.Sprintf("T%09d", i),
			MemberId: members[i%len(members)], OccurredAt: now, Currency: "EUR", TotalMinor: int64(1000 + i%9000),
			Lines: []*posv1.Line{
				{Sku: "SKU-1", Description: "Coffee", Quantity: 2, AmountMinor: 500},
				{Sku: "SKU-2", Description: "Cake", Quantity: 1, AmountMinor: int64(500 + i%9000)},
			},
		}
		msgs[i] = e.EventMsg(testkit.Subject(ev), ev.GetEventId(), ev)
	}
	nc, err := nats.Connect(e.NATSURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatal(err)
	}

	pgBefore, pgOK := cpustat.Backends(ctx, e.db.Pool)
	goBefore := cpustat.Process()
	b.ResetTimer()
	for _, m := range msgs {
		if _, err := js.PublishMsgAsync(m, jetstream.WithStallWait(30*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		b.Fatal("publish acks did not arrive")
	}
	published := b.Elapsed()
	// Poll the consumer's state in JetStream, not Postgres: counting rows would load the
	// database being measured. Everything is acked only after its commit.
	e.WaitAcked(service.ConsumerPOS, e.stream(&posv1.PurchaseRecorded{}), uint64(b.N), 10*time.Minute)
	b.StopTimer()
	elapsed := b.Elapsed()
	goCPU := cpustat.Process() - goBefore
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "purchases/s")
	b.ReportMetric(float64(b.N)/published.Seconds(), "published/s")
	b.ReportMetric(float64(goCPU.Microseconds())/float64(b.N), "go-cpu-µs/purchase")
	if pgAfter, ok := cpustat.Backends(ctx, e.db.Pool); ok && pgOK {
		b.ReportMetric(float64(cpustat.Since(pgBefore, pgAfter).Microseconds())/float64(b.N), "pg-cpu-µs/purchase")
	}
	if got := e.db.Count(`SELECT count(*) FROM transactions WHERE kind = 'credit'`); got != int64(b.N) {
		b.Fatalf("credited %d purchases, want %d", got, b.N)
	}
}
