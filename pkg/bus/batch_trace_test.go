package bus

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/treue/treue/pkg/telemetry"
)

// A batch whose events all come from one publish is a child of it, and its messages'
// Context continues from the batch; a batch from several publishes starts a trace that
// links to each once, and its messages keep their publishers' contexts.
func TestBatchSpanParentOrLinks(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	c := &Consumer{cfg: ConsumerConfig{Name: "test"}, tracer: tp.Tracer("test")}
	publish := func() trace.SpanContext {
		_, s := tp.Tracer("test").Start(context.Background(), "publish outbox")
		s.End()
		return s.SpanContext().WithRemote(true)
	}
	pubA, pubB := publish(), publish()
	msg := func(from trace.SpanContext) *Message {
		return &Message{ctx: trace.ContextWithRemoteSpanContext(context.Background(), from)}
	}
	batch := func(msgs ...*Message) tracetest.SpanStub {
		t.Helper()
		_, span := c.startBatch(context.Background(), msgs)
		span.End()
		for _, s := range exp.GetSpans() {
			if s.SpanContext.SpanID() == span.SpanContext().SpanID() {
				return s
			}
		}
		t.Fatal("batch span not exported")
		return tracetest.SpanStub{}
	}
	links := func(s tracetest.SpanStub) []trace.SpanID {
		var out []trace.SpanID
		for _, l := range s.Links {
			out = append(out, l.SpanContext.SpanID())
		}
		return out
	}

	one := []*Message{msg(pubA), msg(pubA)}
	s := batch(one...)
	if s.Parent.SpanID() != pubA.SpanID() || s.SpanContext.TraceID() != pubA.TraceID() || len(s.Links) != 0 {
		t.Fatalf("batch of one publish: parent %s in trace %s, %d links; want a child of %s", s.Parent.SpanID(), s.SpanContext.TraceID(), len(s.Links), pubA.SpanID())
	}
	if s.Name != "consume test" || s.SpanKind != trace.SpanKindConsumer {
		t.Fatalf("batch span %q, kind %s", s.Name, s.SpanKind)
	}
	for _, m := range one {
		if got := trace.SpanContextFromContext(m.Context()); got.SpanID() != s.SpanContext.SpanID() {
			t.Fatalf("a message of the batch continues from %s, want the batch's span %s", got.SpanID(), s.SpanContext.SpanID())
		}
	}

	mixed := []*Message{msg(pubA), msg(pubB), msg(pubA)}
	s = batch(mixed...)
	if s.Parent.IsValid() || s.SpanContext.TraceID() == pubA.TraceID() || s.SpanContext.TraceID() == pubB.TraceID() {
		t.Fatalf("batch of two publishes: parent %s, trace %s; want a trace of its own", s.Parent.SpanID(), s.SpanContext.TraceID())
	}
	if got := links(s); len(got) != 2 || got[0] != pubA.SpanID() || got[1] != pubB.SpanID() {
		t.Fatalf("links %v, want %s and %s once each", got, pubA.SpanID(), pubB.SpanID())
	}
	if got := trace.SpanContextFromContext(mixed[1].Context()); got.SpanID() != pubB.SpanID() {
		t.Fatalf("a message of a mixed batch continues from %s, want its publisher %s", got.SpanID(), pubB.SpanID())
	}

	// Untraced events: a root without links; with a traced one, a link to it alone.
	if s = batch(&Message{}); s.Parent.IsValid() || len(s.Links) != 0 {
		t.Fatalf("untraced batch: parent %s, %d links", s.Parent.SpanID(), len(s.Links))
	}
	if s = batch(&Message{}, msg(pubB)); s.Parent.IsValid() || len(links(s)) != 1 || links(s)[0] != pubB.SpanID() {
		t.Fatalf("half-traced batch: parent %s, links %v", s.Parent.SpanID(), links(s))
	}
}

// The spans' cost per batch, with a recording SDK provider that exports nowhere (a
// service without a collector): the consumer's span of a batch of 500 events, untraced
// or each from its own trace, and the relay's spans of 1000 rows one transaction wrote.
func BenchmarkBatchSpans(b *testing.B) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	tp := sdktrace.NewTracerProvider()
	c := &Consumer{cfg: ConsumerConfig{Name: "bench"}, tracer: tp.Tracer("bench")}
	untraced := make([]*Message, 500)
	traced := make([]*Message, 500)
	for i := range untraced {
		untraced[i] = &Message{}
		_, s := tp.Tracer("bench").Start(context.Background(), "publish")
		traced[i] = &Message{ctx: trace.ContextWithRemoteSpanContext(context.Background(), s.SpanContext())}
	}
	b.Run("consume 500 untraced", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, s := c.startBatch(context.Background(), untraced)
			s.End()
		}
	})
	b.Run("consume 500 traces", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, s := c.startBatch(context.Background(), traced)
			s.End()
		}
	})
	ctx, s := tp.Tracer("bench").Start(context.Background(), "batch")
	h := map[string][]string{}
	telemetry.Inject(ctx, h)
	s.End()
	rows := make([]outboxRow, 1000)
	for i := range rows {
		rows[i] = outboxRow{headers: h, subject: "s", eventID: "e"}
	}
	r := &Relay{tracer: tp.Tracer("bench")}
	b.Run("publish 1000 rows of one transaction", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			spans, _ := r.publishSpans(rows)
			for _, p := range spans {
				p.span.End()
			}
		}
	})
}
