package bus

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/telemetry"
)

// Outbox is a service's one door for the events it emits: it writes them to the outbox
// table in the caller's transaction, and the Relay publishes them after the commit. It
// knows the event types the service declares it produces, takes each one's subject from
// the contract, and refuses any other type.
type Outbox struct {
	produces map[protoreflect.FullName]EventSpec
}

// NewOutbox returns the outbox of a service that produces these event types.
func NewOutbox(produces ...proto.Message) (*Outbox, error) {
	o := &Outbox{produces: map[protoreflect.FullName]EventSpec{}}
	for _, m := range produces {
		s, err := Spec(m)
		if err != nil {
			return nil, err
		}
		if s.Keyed && s.Key == nil {
			return nil, fmt.Errorf("bus: %s cannot be produced: its subject's last token comes from no field", s.Type)
		}
		o.produces[s.Type] = s
	}
	return o, nil
}

// Produces returns the contracts of the event types the outbox takes.
func (o *Outbox) Produces() []EventSpec {
	out := make([]EventSpec, 0, len(o.produces))
	for _, s := range o.produces {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b EventSpec) int { return cmp.Compare(a.Type, b.Type) })
	return out
}

// Streams returns the streams the produced events go to.
func (o *Outbox) Streams() []StreamSpec {
	var out []StreamSpec
	for _, s := range o.Produces() {
		if !slices.ContainsFunc(out, func(x StreamSpec) bool { return x.Name == s.Stream.Name }) {
			out = append(out, s.Stream)
		}
	}
	return out
}

// Enqueue writes events, each with a fresh UUIDv7 id, to the outbox in tx in one
// statement. If tx rolls back, they never existed.
func (o *Outbox) Enqueue(ctx context.Context, tx pgx.Tx, events ...proto.Message) error {
	rows, err := o.Rows(ctx, events...)
	if err != nil || len(rows) == 0 {
		return err
	}
	// A batch handler enqueues hundreds of events (COPY); a gRPC call one or two.
	if err := pg.InsertRows(ctx, tx, "outbox", OutboxColumns, rows); err != nil {
		return fmt.Errorf("bus: outbox insert: %w", err)
	}
	return nil
}

// OutboxColumns are the outbox's columns that Rows gives values for.
var OutboxColumns = []string{"event_id", "subject", "event_type", "payload", "headers"}

// Rows returns the outbox rows of events, each with a fresh UUIDv7 id and the trace of
// ctx (columns OutboxColumns), for a statement that writes them together with the
// change they describe, such as one that inserts them only if its update matched.
func (o *Outbox) Rows(ctx context.Context, events ...proto.Message) ([][]any, error) {
	if len(events) == 0 {
		return nil, nil
	}
	trace := map[string][]string{}
	telemetry.Inject(ctx, trace)
	traceJSON, err := json.Marshal(trace)
	if err != nil {
		return nil, err
	}
	rows := make([][]any, len(events))
	for i, m := range events {
		typ := m.ProtoReflect().Descriptor().FullName()
		s, ok := o.produces[typ]
		if !ok {
			return nil, fmt.Errorf("bus: %s is not an event this service declares it produces", typ)
		}
		subject, err := s.SubjectOf(m)
		if err != nil {
			return nil, err
		}
		b, err := proto.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("bus: marshal %s: %w", typ, err)
		}
		// [16]byte is encoded as a binary uuid; a uuid.UUID would go as text.
		rows[i] = []any{[16]byte(uuid.Must(uuid.NewV7())), subject, string(typ), b, string(traceJSON)}
	}
	return rows, nil
}

// tracerName is the instrumentation scope of the bus's spans.
const tracerName = "github.com/treue/treue/pkg/bus"

// Relay publishes outbox rows to JetStream. In one transaction it deletes a batch of rows
// (the oldest, skipping rows another replica has locked, so replicas share the work),
// publishes them asynchronously with Nats-Msg-Id, waits for every ack, then commits. A crash before the commit
// leaves the rows to be published again; JetStream's de-duplication and the consumers'
// inbox drop the copies.
type Relay struct {
	pool  *pgxpool.Pool
	js    jetstream.Publisher
	ns    Namespace
	log   *slog.Logger
	batch int
	idle  time.Duration
	wake  chan struct{}
	state loopState
	// tracer makes the publish spans.
	tracer trace.Tracer
}

// State is how the relay is doing: running, busy with a batch, failing.
func (r *Relay) State() LoopState { return r.state.get() }

// NewRelay returns a relay for the outbox in pool's schema.
func NewRelay(pool *pgxpool.Pool, js jetstream.Publisher, ns Namespace, log *slog.Logger) *Relay {
	return &Relay{pool: pool, js: js, ns: ns, log: log, batch: 1000, idle: 200 * time.Millisecond, wake: make(chan struct{}, 1),
		tracer: otel.Tracer(tracerName)}
}

// SetTracerProvider makes the publish spans with tp instead of the global provider (a
// process running several services gives each its own). Call it before Run.
func (r *Relay) SetTracerProvider(tp trace.TracerProvider) {
	if tp != nil {
		r.tracer = tp.Tracer(tracerName)
	}
}

// Notify wakes the relay after a commit that wrote outbox rows, so they leave within
// milliseconds instead of at the next poll.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends, then returns nil. Before returning it makes one last
// pass, so that what was committed before shutdown leaves.
func (r *Relay) Run(ctx context.Context) error {
	r.state.running(true)
	defer r.state.running(false)
	meters().relayPublished.Add(ctx, 0) // the series exists before the first event
	backoff := 100 * time.Millisecond
	for {
		r.state.busy(true)
		n, err := r.publishBatch(context.WithoutCancel(ctx))
		r.state.busy(false)
		r.state.result(err)
		switch {
		case err != nil:
			r.log.Warn("outbox relay: publish failed; will retry", "err", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		case n == r.batch:
			backoff = 100 * time.Millisecond
			continue
		}
		backoff = 100 * time.Millisecond
		select {
		case <-ctx.Done():
			_, _ = r.publishBatch(context.WithoutCancel(ctx))
			return nil
		case <-r.wake:
		case <-time.After(r.idle):
		}
	}
}

// Flush publishes every row present now; tests and shutdown use it.
func (r *Relay) Flush(ctx context.Context) error {
	for {
		n, err := r.publishBatch(ctx)
		if err != nil {
			return err
		}
		if n < r.batch {
			return nil
		}
	}
}

type outboxRow struct {
	id        int64
	eventID   string
	subject   string
	eventType string
	payload   []byte
	headers   map[string][]string
}

func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// One statement deletes and returns the batch: locking the rows first and deleting
	// them after the publish would write every row twice. Until the commit the deletion
	// is invisible, and a failed publish rolls it back.
	rows, err := tx.Query(ctx, `
		DELETE FROM outbox WHERE id IN (
			SELECT id FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING id, event_id::text, subject, event_type, payload, headers`, r.batch)
	if err != nil {
		return 0, err
	}
	batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
		var o outboxRow
		err := row.Scan(&o.id, &o.eventID, &o.subject, &o.eventType, &o.payload, &o.headers)
		return o, err
	})
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	started := time.Now()
	// DELETE ... RETURNING gives no order; publish in the order of the writes.
	slices.SortFunc(batch, func(a, b outboxRow) int { return cmp.Compare(a.id, b.id) })
	spans, spanOf := r.publishSpans(batch)
	var failed error
	defer func() {
		for _, s := range spans {
			if failed != nil {
				s.span.RecordError(failed)
				s.span.SetStatus(codes.Error, "publish failed")
			}
			s.span.End()
		}
	}()
	futures := make([]jetstream.PubAckFuture, len(batch))
	for i, o := range batch {
		msg := &nats.Msg{Subject: r.ns.Subject(o.subject), Data: o.payload, Header: nats.Header{}}
		for k, v := range o.headers {
			msg.Header[k] = v
		}
		// The consumers continue the trace from the publish span.
		for k, v := range spans[spanOf[i]].headers {
			msg.Header[k] = v
		}
		msg.Header.Set(HeaderContentType, ContentTypeProto)
		msg.Header.Set(HeaderEventType, o.eventType)
		f, err := r.js.PublishMsgAsync(msg, jetstream.WithMsgID(o.eventID))
		if err != nil {
			failed = fmt.Errorf("publish %s: %w", o.subject, err)
			return 0, failed
		}
		futures[i] = f
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			failed = fmt.Errorf("publish %s: %w", batch[i].subject, err)
			return 0, failed
		case <-ctx.Done():
			failed = fmt.Errorf("publish %s: no ack: %w", batch[i].subject, ctx.Err())
			return 0, failed
		}
	}
	if err := tx.Commit(ctx); err != nil {
		failed = err
		return 0, err
	}
	in := meters()
	in.relayDuration.Record(ctx, time.Since(started).Seconds())
	in.relayPublished.Add(ctx, int64(len(batch)))
	return len(batch), nil
}

type publishSpan struct {
	span trace.Span
	// headers carry the span's trace context, made once for all its messages.
	headers map[string][]string
}

// publishSpans starts one publish span for the rows of each transaction in the batch
// (they carry the same trace context), as a child of the span that wrote them, so that a
// trace goes on from the write to its consumers in one tree. Rows written outside any
// trace get one root span. A consumer's batch that wrote hundreds of events gets one
// span, not hundreds. It returns the spans and, for each row, the index of its span.
func (r *Relay) publishSpans(batch []outboxRow) ([]publishSpan, []int) {
	var (
		keys   []string
		counts []int
		firsts []int
		byKey  map[string]int
	)
	of := make([]int, len(batch))
	for i, o := range batch {
		key := traceparent(o.headers)
		// A transaction's rows are mostly next to each other: compare with the last
		// key before looking the others up.
		g := len(keys) - 1
		if g < 0 || keys[g] != key {
			var ok bool
			if g, ok = byKey[key]; !ok {
				if byKey == nil {
					byKey = map[string]int{}
				}
				g = len(keys)
				byKey[key] = g
				keys, counts, firsts = append(keys, key), append(counts, 0), append(firsts, i)
			}
		}
		counts[g]++
		of[i] = g
	}
	spans := make([]publishSpan, len(keys))
	for g, n := range counts {
		o := batch[firsts[g]]
		parent := telemetry.Extract(context.Background(), o.headers)
		opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.Int("messaging.batch.message_count", n))}
		if n == 1 {
			opts = append(opts, trace.WithAttributes(
				attribute.String("messaging.destination.name", o.subject),
				attribute.String("messaging.message.id", o.eventID)))
		}
		ctx, span := r.tracer.Start(parent, "publish outbox", opts...)
		h := map[string][]string{}
		telemetry.Inject(ctx, h)
		spans[g] = publishSpan{span: span, headers: h}
	}
	return spans, of
}

// traceparent is the W3C trace context an outbox row was written in, or "".
func traceparent(h map[string][]string) string {
	if v := h["traceparent"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
