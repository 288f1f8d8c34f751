package bus_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/telemetry"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
)

// W3C trace context, as telemetry.Setup installs it.
func traceContext(t *testing.T) {
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })
}

// The relay publishes the rows of each transaction in one span, a child of the span
// that wrote them, and the messages carry that span's context on; rows written outside
// any trace get a root span of their own.
func TestRelayPublishesInTheWritersTrace(t *testing.T) {
	traceContext(t)
	e := newEnv(t, 0)
	ctx := context.Background()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	outbox, err := bus.NewOutbox(&ledgerv1.PointsCredited{})
	if err != nil {
		t.Fatal(err)
	}
	write := func(ctx context.Context, values ...string) {
		t.Helper()
		events := make([]*ledgerv1.PointsCredited, len(values))
		err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
			for i, v := range values {
				events[i] = testEvent(v)
				if err := outbox.Enqueue(ctx, tx, events[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	aCtx, a := tp.Tracer("test").Start(ctx, "write a")
	write(aCtx, "a1", "a2")
	a.End()
	bCtx, b := tp.Tracer("test").Start(ctx, "write b")
	write(bCtx, "b1")
	b.End()
	write(ctx, "untraced")

	relay := bus.NewRelay(e.pool, e.js, e.ns, e.log)
	relay.SetTracerProvider(tp)
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	publishes := map[trace.SpanID]tracetest.SpanStub{} // by parent
	for _, s := range exp.GetSpans() {
		if s.Name == "publish outbox" {
			publishes[s.Parent.SpanID()] = s
		}
	}
	if len(publishes) != 3 {
		t.Fatalf("%d publish spans, want one per transaction (3): %v", len(publishes), exp.GetSpans())
	}
	for _, w := range []struct {
		parent trace.SpanContext
		n      int64
	}{{a.SpanContext(), 2}, {b.SpanContext(), 1}, {trace.SpanContext{}, 1}} {
		parent, n := w.parent, w.n
		p, ok := publishes[parent.SpanID()]
		if !ok {
			t.Fatalf("no publish span under %s", parent.SpanID())
		}
		if parent.IsValid() && p.SpanContext.TraceID() != parent.TraceID() {
			t.Fatalf("publish span of %s in trace %s", parent.SpanID(), p.SpanContext.TraceID())
		}
		if p.SpanKind != trace.SpanKindProducer || count(p) != n {
			t.Fatalf("publish span under %s: kind %s, %d messages, want producer, %d", parent.SpanID(), p.SpanKind, count(p), n)
		}
	}

	// Each message continues from its transaction's publish span.
	stream, err := e.js.Stream(ctx, e.ns.Stream(testStream.Name))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]trace.SpanContext{"a1": a.SpanContext(), "a2": a.SpanContext(), "b1": b.SpanContext(), "untraced": {}}
	for seq := uint64(1); seq <= 4; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var ev ledgerv1.PointsCredited
		if err := proto.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		got := trace.SpanContextFromContext(telemetry.Extract(ctx, m.Header))
		if pub := publishes[want[ev.GetTransactionId()].SpanID()]; got.SpanID() != pub.SpanContext.SpanID() || got.TraceID() != pub.SpanContext.TraceID() {
			t.Fatalf("message %s carries span %s, want its publish span %s", ev.GetTransactionId(), got.SpanID(), pub.SpanContext.SpanID())
		}
	}
}

func count(s tracetest.SpanStub) int64 {
	for _, kv := range s.Attributes {
		if kv.Key == "messaging.batch.message_count" {
			return kv.Value.AsInt64()
		}
	}
	return -1
}
