package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/telemetry"
)

// ConsumerConfig describes one durable consumer.
type ConsumerConfig struct {
	// Name is the durable consumer's name. It is permanent: renaming a consumer makes it
	// consume its stream again from the start (the inbox keeps that harmless but slow).
	Name string
	// Routes are the consumer's typed subscriptions (bus.On), all on one stream. The
	// consumer decodes and validates every event before its handler sees it; an event
	// that breaks the contract goes to the dead letters at once, in the transaction of
	// its batch.
	Routes []Route
	// WholeStream consumes every subject of the routes' stream, unfiltered: the server
	// does noticeably less per message than with several filters. An event no route
	// takes is dead-lettered.
	WholeStream bool
	// Unordered declares that the routes' effects do not depend on the order of events
	// of different types (counters that only add up): each route's handler then gets
	// all of a batch's events of its type in one call, in stream order, instead of one
	// call per run of consecutive events of one type.
	Unordered bool
	// Exclusive lets one process at a time take the consumer's messages (JetStream's
	// pinned client), so that they are applied in stream order however many replicas
	// run; the others stand by and one of them is pinned once the active one has not
	// asked for messages for PinnedTTL (it died). Without it, replicas share the
	// messages batch by batch and the order between their batches is the order of their
	// commits.
	Exclusive bool
	// PinnedTTL is how long an Exclusive consumer's active process may stay silent before
	// a standby takes over; default 5s.
	PinnedTTL time.Duration
	// BatchSize is the most messages applied in one transaction; default 500.
	BatchSize int
	// MaxDeliver is how many deliveries a failing message gets before it goes to the
	// dead letters; default 5.
	MaxDeliver int
	// Backoff is the delay before the n-th redelivery of a failed message; the last
	// entry repeats. Default 1s, 5s, 30s.
	Backoff []time.Duration
	// AckWait is how long JetStream waits for an ack before redelivering; default 3s.
	// The consumer keeps the messages it holds alive with InProgress while it works on
	// them, so a long batch is not redelivered, while the messages a crashed process
	// held come back within AckWait instead of blocking its replacement.
	AckWait time.Duration
	// AfterCommit runs after every commit (the service wakes its outbox relay).
	AfterCommit func()
	// BeforeAck injects faults in tests: when it returns an error the consumer behaves as
	// a process that crashed after committing: it stops without acking. Nil in production.
	BeforeAck func(msgs []*Message) error
	// TracerProvider makes the batches' spans; nil takes the global one. A process
	// running several services (a test) gives each its own, so spans name their service.
	TracerProvider trace.TracerProvider
}

// pinnedGroup is the priority group of an Exclusive consumer.
const pinnedGroup = "treue"

// Consumer is a running durable pull consumer.
type Consumer struct {
	cfg      ConsumerConfig
	routes   *routes
	stream   StreamSpec
	subjects []string // the filter, outside the namespace; none for the whole stream
	pool     *pgxpool.Pool
	js       jetstream.JetStream
	ns       Namespace
	log      *slog.Logger
	tracer   trace.Tracer
	state    loopState
}

// State is how the consumer is doing: running, busy with a batch, failing.
func (c *Consumer) State() LoopState { return c.state.get() }

// NewConsumer returns a consumer; Run starts it.
func NewConsumer(pool *pgxpool.Pool, js jetstream.JetStream, ns Namespace, log *slog.Logger, cfg ConsumerConfig) (*Consumer, error) {
	if cfg.Name == "" || len(cfg.Routes) == 0 {
		return nil, errors.New("bus: a consumer needs a name and routes (bus.On)")
	}
	rt, stream, err := newRoutes(cfg.Routes)
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s: %w", cfg.Name, err)
	}
	var subjects []string
	if !cfg.WholeStream {
		subjects = rt.filters()
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = 5
	}
	if len(cfg.Backoff) == 0 {
		cfg.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 3 * time.Second
	}
	if cfg.PinnedTTL <= 0 {
		cfg.PinnedTTL = 5 * time.Second
	}
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return &Consumer{cfg: cfg, routes: rt, stream: stream, subjects: subjects, pool: pool, js: js, ns: ns, log: log.With("consumer", cfg.Name), tracer: tp.Tracer(tracerName)}, nil
}

// Name is the consumer's durable name (outside the namespace).
func (c *Consumer) Name() string { return c.cfg.Name }

// Stream is the stream the consumer reads.
func (c *Consumer) Stream() StreamSpec { return c.stream }

// External reports whether the consumer reads the retailer's events (the POS and
// touchpoint contracts), whose streams no Treue service produces.
func (c *Consumer) External() bool {
	for _, r := range c.cfg.Routes {
		if r.spec.External {
			return true
		}
	}
	return false
}

// errCrash stops Run the way a crash would: without acking what was committed.
var errCrash = errors.New("bus: simulated crash before ack")

// Run consumes until ctx ends. On shutdown it drains: messages already fetched are
// applied and acked before it returns.
func (c *Consumer) Run(ctx context.Context) error {
	filter := make([]string, len(c.subjects))
	for i, s := range c.subjects {
		filter[i] = c.ns.Subject(s)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:        c.ns.Consumer(c.cfg.Name),
		FilterSubjects: filter,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.cfg.AckWait,
		// Unlimited: the consumer itself moves a message to the dead letters after
		// MaxDeliver attempts. JetStream's own limit would drop it silently.
		MaxDeliver:    -1,
		MaxAckPending: 4 * c.cfg.BatchSize,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	pull := []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(2 * c.cfg.BatchSize)}
	if c.cfg.Exclusive {
		cfg.PriorityPolicy = jetstream.PriorityPolicyPinned
		cfg.PriorityGroups = []string{pinnedGroup}
		cfg.PinnedTTL = c.cfg.PinnedTTL
		// The active process asks again well within the TTL even when idle, so that it
		// stays pinned.
		pull = append(pull, jetstream.PullPriorityGroup(pinnedGroup), jetstream.PullExpiry(max(time.Second, c.cfg.PinnedTTL/3)))
	}
	var cons jetstream.Consumer
	err := retryTransient(ctx, func() (err error) {
		cons, err = c.js.CreateOrUpdateConsumer(ctx, c.ns.Stream(c.stream.Name), cfg)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			// Shut down before the consumer was ready: nothing was fetched, nothing to drain.
			return nil
		}
		c.state.result(err)
		return fmt.Errorf("bus: consumer %s: %w", c.cfg.Name, err)
	}
	defer c.observeLag(cons)()
	in := meters()
	attrs := metric.WithAttributes(attribute.String("consumer", c.cfg.Name))
	// Counters start at 0, so that rate() and an alert on increase see the first one.
	in.redeliveries.Add(ctx, 0, attrs)
	for _, reason := range []string{deadContract, deadRefused, deadFailed} {
		in.deadLetters.Add(ctx, 0, metric.WithAttributes(attribute.String("consumer", c.cfg.Name), attribute.String("reason", reason)))
	}
	inbox := make(chan jetstream.Msg, 2*c.cfg.BatchSize)
	held := newHeld()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		held.add(m)
		inbox <- m
	}, append(pull,
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if !errors.Is(err, jetstream.ErrNoHeartbeat) {
				c.log.Debug("consume", "err", err)
			}
		}))...)
	if err != nil {
		c.state.result(err)
		return fmt.Errorf("bus: consume %s: %w", c.cfg.Name, err)
	}
	defer cc.Stop()
	c.state.running(true)
	defer c.state.running(false)

	// On shutdown: stop pulling, then apply and ack what was already fetched.
	stopped := make(chan struct{})
	go held.keepAlive(c.cfg.AckWait/3, stopped)
	go func() {
		select {
		case <-ctx.Done():
			cc.Drain()
		case <-stopped:
		}
	}()
	defer close(stopped)

	// Work on, during shutdown, with a context that is not cancelled: a batch is
	// applied and acked completely or not at all.
	work := context.WithoutCancel(ctx)
	for {
		batch, ok := c.collect(inbox, cc.Closed())
		if !ok {
			if ctx.Err() == nil {
				// Closed without a shutdown (the consumer was deleted on the server, say):
				// fail, so that the process exits and is restarted, rather than run on
				// without consuming.
				return fmt.Errorf("bus: consumer %s stopped receiving", c.cfg.Name)
			}
			return nil
		}
		in.batchSize.Record(work, int64(len(batch)), attrs)
		var again int64
		for _, m := range batch {
			if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
				again++
			}
		}
		if again > 0 {
			in.redeliveries.Add(work, again, attrs)
		}
		c.state.busy(true)
		err := c.process(work, batch)
		c.state.busy(false)
		held.done(batch)
		if errors.Is(err, errCrash) {
			return err
		}
	}
}

// collect waits for a message, then takes whatever else is already fetched, up to a
// batch. It reports false once the consumer is drained and closed.
func (c *Consumer) collect(inbox <-chan jetstream.Msg, closed <-chan struct{}) ([]jetstream.Msg, bool) {
	var first jetstream.Msg
	select {
	case first = <-inbox:
	case <-closed:
		select {
		case first = <-inbox:
		default:
			return nil, false
		}
	}
	batch := []jetstream.Msg{first}
	for len(batch) < c.cfg.BatchSize {
		select {
		case m := <-inbox:
			batch = append(batch, m)
		default:
			return batch, true
		}
	}
	return batch, true
}

func (c *Consumer) process(ctx context.Context, raw []jetstream.Msg) error {
	msgs := make([]*Message, 0, len(raw))
	var good []jetstream.Msg
	var poison []*Message
	var poisonRaw []jetstream.Msg
	for _, r := range raw {
		m := c.toMessage(r)
		if err := c.resolve(m); err != nil {
			m.poison = err
			poison, poisonRaw = append(poison, m), append(poisonRaw, r)
			continue
		}
		msgs, good = append(msgs, m), append(good, r)
	}
	err := c.apply(ctx, msgs, poison)
	if err == nil {
		c.countDead(ctx, deadContract, len(poison))
		refused := 0
		for _, m := range msgs {
			if m.refused != nil {
				refused++
			}
		}
		c.countDead(ctx, deadRefused, refused)
		return c.ack(good, msgs, poisonRaw, poison)
	}
	if errors.Is(err, errCrash) {
		return err
	}
	if len(raw) > 1 {
		c.log.Warn("batch failed; retrying its messages one by one", "size", len(raw), "err", err)
		for i := range raw {
			if err := c.process(ctx, raw[i:i+1]); errors.Is(err, errCrash) {
				return err
			}
		}
		return nil
	}
	if len(msgs) == 1 {
		c.fail(ctx, raw[0], msgs[0], err)
		return nil
	}
	// Only its dead letter's write can fail a lone poison message: try again later.
	c.log.Error("dead letter write failed; will retry the message", "event_id", poison[0].ID, "err", err)
	_ = raw[0].NakWithDelay(c.cfg.Backoff[len(c.cfg.Backoff)-1])
	return nil
}

// resolve decodes a message into its route's event type.
func (c *Consumer) resolve(m *Message) error { return c.routes.resolve(m) }

func (c *Consumer) ack(raw []jetstream.Msg, msgs []*Message, poisonRaw []jetstream.Msg, poison []*Message) error {
	if c.cfg.BeforeAck != nil {
		if err := c.cfg.BeforeAck(append(msgs[:len(msgs):len(msgs)], poison...)); err != nil {
			return errCrash
		}
	}
	for _, m := range raw {
		if err := m.Ack(); err != nil {
			// The commit stands; a redelivery will be recognised by the inbox.
			c.log.Warn("ack failed", "err", err)
		}
	}
	for i, m := range poisonRaw {
		p := poison[i]
		c.log.Error("event breaks the contract; dead-lettered", "event_id", p.ID, "subject", p.Subject, "type", p.Type, "err", p.poison)
		_ = m.TermWithReason("dead-lettered: " + truncate(p.poison.Error(), 200))
	}
	return nil
}

// apply handles msgs in one transaction: the dead letters of the poison messages, inbox
// rows, then the handler with the messages that were new.
func (c *Consumer) apply(ctx context.Context, msgs, poison []*Message) (err error) {
	ctx, span := c.startBatch(ctx, msgs)
	defer span.End()

	started := time.Now()
	defer func() {
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		meters().handlerDuration.Record(ctx, time.Since(started).Seconds(), metric.WithAttributes(
			attribute.String("consumer", c.cfg.Name), attribute.String("outcome", outcome)))
		c.state.result(err)
	}()
	var txCtx context.Context
	err = pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		for _, m := range poison {
			if err := c.deadLetter(ctx, tx, m, m.poison); err != nil {
				return err
			}
		}
		if len(msgs) == 0 {
			return nil
		}
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			ids[i] = m.ID
		}
		rows, err := tx.Query(ctx, `
			INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::text[])
			ON CONFLICT DO NOTHING RETURNING event_id`, c.cfg.Name, ids)
		if err != nil {
			return err
		}
		fresh, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(fresh) == 0 {
			return nil
		}
		isNew := make(map[string]bool, len(fresh))
		for _, id := range fresh {
			isNew[id] = true
		}
		todo := make([]*Message, 0, len(fresh))
		for _, m := range msgs {
			if isNew[m.ID] {
				todo = append(todo, m)
				delete(isNew, m.ID) // the same event twice in one batch is applied once
			}
		}
		txCtx = pg.WithTx(ctx, tx)
		if err := dispatch(txCtx, todo, c.cfg.Unordered); err != nil {
			return err
		}
		return c.deadLetterRefused(ctx, tx, todo)
	})
	if err != nil {
		span.RecordError(err)
		return err
	}
	c.log.Debug("batch applied", "size", len(msgs), "took", time.Since(started))
	if c.cfg.AfterCommit != nil {
		c.cfg.AfterCommit()
	}
	if txCtx != nil {
		// What the routes counted with pg.AfterCommit: only now does it stand.
		pg.Committed(txCtx)
	}
	return nil
}

// maxLinks is the SDK's default limit of links on a span: more would be dropped.
const maxLinks = 128

// startBatch starts the span of a batch. When every message of the batch comes from one
// publish (a batch of one event, or of events one transaction wrote), the span is a
// child of that publish, so the trace stays one tree, and the messages' Context becomes
// the batch's span, so that what the handler writes continues from it. A batch of
// events from several publishes cannot have them all as parents: its span starts a
// trace of its own and links to each publish (the first 128: the SDK keeps no more),
// and each message's Context stays its publisher's, so the events the handler writes
// for a message continue that message's trace. One span per batch, never one per message:
// the ledger applies hundreds of purchases in a batch.
func (c *Consumer) startBatch(ctx context.Context, msgs []*Message) (context.Context, trace.Span) {
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		attribute.String("messaging.system", "nats"),
		attribute.String("messaging.consumer.group.name", c.cfg.Name),
		attribute.Int("messaging.batch.message_count", len(msgs)))}
	var from trace.SpanContext
	one := len(msgs) > 0
	for _, m := range msgs {
		sc := trace.SpanContextFromContext(m.Context())
		if !from.IsValid() {
			from = sc
		}
		if !sc.IsValid() || !sc.Equal(from) {
			one = false
			break
		}
	}
	if one {
		ctx, span := c.tracer.Start(msgs[0].Context(), "consume "+c.cfg.Name, opts...)
		for _, m := range msgs {
			m.ctx = trace.ContextWithSpan(m.Context(), span)
		}
		return ctx, span
	}
	var links []trace.Link
	var seen map[trace.SpanID]bool
	for _, m := range msgs {
		sc := trace.SpanContextFromContext(m.Context())
		// Events of one publish are mostly next to each other: compare with the last
		// link before looking the others up.
		if !sc.IsValid() || len(links) > 0 && links[len(links)-1].SpanContext.SpanID() == sc.SpanID() || seen[sc.SpanID()] {
			continue
		}
		if len(links) == maxLinks {
			break
		}
		if seen == nil {
			seen = map[trace.SpanID]bool{}
		}
		seen[sc.SpanID()] = true
		links = append(links, trace.Link{SpanContext: sc})
	}
	opts = append(opts, trace.WithLinks(links...), trace.WithNewRoot())
	return c.tracer.Start(ctx, "consume "+c.cfg.Name, opts...)
}

// fail decides what happens to a message that failed alone: a retry after a back-off,
// or the dead letters.
func (c *Consumer) fail(ctx context.Context, raw jetstream.Msg, m *Message, cause error) {
	if !IsPermanent(cause) && m.Deliveries < uint64(c.cfg.MaxDeliver) {
		delay := c.cfg.Backoff[min(int(m.Deliveries)-1, len(c.cfg.Backoff)-1)]
		c.log.Warn("message failed; will retry", "event_id", m.ID, "subject", m.Subject, "deliveries", m.Deliveries, "retry_in", delay, "err", cause)
		_ = raw.NakWithDelay(delay)
		return
	}
	if err := c.deadLetter(ctx, c.pool, m, cause); err != nil {
		c.log.Error("dead letter write failed; will retry the message", "event_id", m.ID, "err", err)
		_ = raw.NakWithDelay(c.cfg.Backoff[len(c.cfg.Backoff)-1])
		return
	}
	c.countDead(ctx, deadFailed, 1)
	// Given up on is handled: the consumer is not failing any more.
	c.state.result(nil)
	c.log.Error("message dead-lettered", "event_id", m.ID, "subject", m.Subject, "deliveries", m.Deliveries, "err", cause)
	_ = raw.TermWithReason("dead-lettered: " + truncate(cause.Error(), 200))
}

// Why a message went to the dead letters (the reason label of the counter).
const (
	deadContract = "contract"
	deadRefused  = "refused"
	deadFailed   = "failed"
)

func (c *Consumer) countDead(ctx context.Context, reason string, n int) {
	if n > 0 {
		meters().deadLetters.Add(ctx, int64(n), metric.WithAttributes(
			attribute.String("consumer", c.cfg.Name), attribute.String("reason", reason)))
	}
}

// deadLetterRefused writes the dead letters of the messages the handler refused, in the
// batch's transaction, and takes their inbox rows back so that a replay applies them.
func (c *Consumer) deadLetterRefused(ctx context.Context, tx pgx.Tx, msgs []*Message) error {
	var ids []string
	for _, m := range msgs {
		if m.refused == nil {
			continue
		}
		if err := c.deadLetter(ctx, tx, m, m.refused); err != nil {
			return err
		}
		c.log.Error("event refused; dead-lettered", "event_id", m.ID, "subject", m.Subject, "err", m.refused)
		ids = append(ids, m.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `DELETE FROM inbox WHERE consumer = $1 AND event_id = ANY($2)`, c.cfg.Name, ids)
	return err
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func (c *Consumer) deadLetter(ctx context.Context, db execer, m *Message, cause error) error {
	_, err := db.Exec(ctx, `
		INSERT INTO dead_letters (consumer, stream, stream_seq, subject, event_id, event_type, content_type, headers, payload, error, deliveries)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (consumer, stream, stream_seq) DO UPDATE SET error = EXCLUDED.error, deliveries = EXCLUDED.deliveries`,
		c.cfg.Name, m.Stream, int64(m.StreamSeq), m.Subject, m.ID, m.Type, m.ContentType, m.Header, m.Data, cause.Error(), int(m.Deliveries))
	return err
}

func (c *Consumer) toMessage(raw jetstream.Msg) *Message {
	h := raw.Headers()
	m := &Message{
		Subject:     c.ns.Trim(raw.Subject()),
		Data:        raw.Data(),
		Header:      h,
		ContentType: h.Get(HeaderContentType),
		Type:        h.Get(HeaderEventType),
		Deliveries:  1,
	}
	if md, err := raw.Metadata(); err == nil {
		m.Deliveries = md.NumDelivered
		m.Stream = md.Stream
		m.StreamSeq = md.Sequence.Stream
	}
	m.ID = h.Get(HeaderMsgID)
	if m.ID == "" {
		m.ID = m.Stream + ":" + strconv.FormatUint(m.StreamSeq, 10)
	}
	m.ctx = telemetry.Extract(context.Background(), h)
	return m
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// held tracks the messages this process holds (fetched, not yet acked), so that it can
// keep them alive with InProgress while a batch takes longer than a third of AckWait.
type held struct {
	mu   sync.Mutex
	msgs map[jetstream.Msg]time.Time
}

func newHeld() *held { return &held{msgs: map[jetstream.Msg]time.Time{}} }

func (h *held) add(m jetstream.Msg) {
	h.mu.Lock()
	h.msgs[m] = time.Now()
	h.mu.Unlock()
}

func (h *held) done(ms []jetstream.Msg) {
	h.mu.Lock()
	for _, m := range ms {
		delete(h.msgs, m)
	}
	h.mu.Unlock()
}

// keepAlive tells JetStream every period that the messages held longer than period are
// still being worked on, until stop closes.
func (h *held) keepAlive(period time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			h.mu.Lock()
			var due []jetstream.Msg
			for m, since := range h.msgs {
				if now.Sub(since) >= period {
					due = append(due, m)
					h.msgs[m] = now
				}
			}
			h.mu.Unlock()
			for _, m := range due {
				_ = m.InProgress()
			}
		}
	}
}
