package bus_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/cpustat"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
)

// BenchmarkConsumer measures what the bus costs per message on the way in, apart from
// any handler's work: b.N events, already in the stream with the headers every Treue
// event carries, consumed in batches with an inbox row each, then acked. CPU includes
// the embedded NATS server, when the test runs one.
func BenchmarkConsumer(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	pool, err := pg.Connect(ctx, testkit.Database(b), "svc", 4)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if err := pg.Migrate(ctx, pool, "svc", log, bus.Migrations()); err != nil {
		b.Fatal(err)
	}
	nc, js, err := bus.Connect(testkit.NATS(b), b.Name())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	ns := bus.Namespace(testkit.Namespace(b))
	if err := bus.EnsureStreams(ctx, js, ns, bus.StreamOptions{}, testStream); err != nil {
		b.Fatal(err)
	}
	data, _ := proto.Marshal(testEvent("a transaction id of a typical size"))
	futures := make([]jetstream.PubAckFuture, 0, b.N)
	for i := range b.N {
		m := &nats.Msg{Subject: ns.Subject(testSpec.Subject), Data: data, Header: nats.Header{}}
		m.Header.Set(bus.HeaderContentType, bus.ContentTypeProto)
		m.Header.Set(bus.HeaderEventType, string(testSpec.Type))
		m.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		f, err := js.PublishMsgAsync(m, jetstream.WithMsgID(fmt.Sprintf("bench-%09d", i)))
		if err != nil {
			b.Fatal(err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}

	var handled atomic.Int64
	done := make(chan struct{})
	c, err := bus.NewConsumer(pool, js, ns, log, bus.ConsumerConfig{
		Name: "bench",
		Routes: []bus.Route{bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.PointsCredited]) error {
			if handled.Add(int64(len(ds))) == int64(b.N) {
				close(done)
			}
			return nil
		})},
	})
	if err != nil {
		b.Fatal(err)
	}
	pgBefore, pgOK := cpustat.Backends(ctx, pool)
	goBefore := cpustat.Process()
	b.ResetTimer()
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- c.Run(runCtx) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatal("consumer did not finish")
	}
	cancel()
	if err := <-stopped; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpustat.Process()-goBefore).Microseconds())/float64(b.N), "go-cpu-µs/msg")
	if pgAfter, ok := cpustat.Backends(ctx, pool); ok && pgOK {
		b.ReportMetric(float64(cpustat.Since(pgBefore, pgAfter).Microseconds())/float64(b.N), "pg-cpu-µs/msg")
	}
}
