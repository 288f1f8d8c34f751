package bus

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/treue/treue/pkg/telemetry"
)

// The bus's instruments. Their Prometheus names are in the README's operator section.
type instruments struct {
	lag             metric.Int64ObservableGauge
	batchSize       metric.Int64Histogram
	handlerDuration metric.Float64Histogram
	redeliveries    metric.Int64Counter
	deadLetters     metric.Int64Counter
	relayDuration   metric.Float64Histogram
	relayPublished  metric.Int64Counter
	outboxDepth     metric.Int64ObservableGauge
	outboxAge       metric.Float64ObservableGauge
	deadStored      metric.Int64ObservableGauge
}

// secondsBuckets suit work that takes from a millisecond to tens of seconds; the SDK's
// default buckets are meant for milliseconds.
var secondsBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// meters is created once: the SDK would hand out the same instruments anyway, and an
// instrument that fails to build (a bad name) is a programming error caught by the tests.
var meters = sync.OnceValue(func() instruments {
	m := telemetry.Meter()
	var in instruments
	in.lag, _ = m.Int64ObservableGauge("treue.bus.consumer.lag",
		metric.WithDescription("Messages of the consumer's stream not yet acked: not yet delivered plus delivered and awaiting their ack (JetStream consumer info)."),
		metric.WithUnit("{message}"))
	in.batchSize, _ = m.Int64Histogram("treue.bus.consumer.batch.size",
		metric.WithDescription("Messages taken in one batch by a consumer."),
		metric.WithUnit("{message}"),
		metric.WithExplicitBucketBoundaries(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000))
	in.handlerDuration, _ = m.Float64Histogram("treue.bus.consumer.handler.duration",
		metric.WithDescription("Time to apply one batch in its transaction: inbox rows, handlers, dead letters; outcome ok or error."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(secondsBuckets...))
	in.redeliveries, _ = m.Int64Counter("treue.bus.consumer.redeliveries",
		metric.WithDescription("Messages received again after an earlier delivery was not acked (a failure, a crash, an ack lost)."),
		metric.WithUnit("{message}"))
	in.deadLetters, _ = m.Int64Counter("treue.bus.consumer.dead_letters",
		metric.WithDescription("Messages a consumer gave up on and wrote to its dead letters; reason contract (undecodable or invalid), refused (by the domain) or failed (retries exhausted or a permanent error)."),
		metric.WithUnit("{message}"))
	in.relayDuration, _ = m.Float64Histogram("treue.bus.relay.publish.duration",
		metric.WithDescription("Time for the outbox relay to publish one batch and have JetStream ack every message of it."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(secondsBuckets...))
	in.relayPublished, _ = m.Int64Counter("treue.bus.relay.published",
		metric.WithDescription("Events the outbox relay published and JetStream acked."),
		metric.WithUnit("{event}"))
	in.outboxDepth, _ = m.Int64ObservableGauge("treue.bus.outbox.depth",
		metric.WithDescription("Outbox rows not yet published."),
		metric.WithUnit("{event}"))
	in.outboxAge, _ = m.Float64ObservableGauge("treue.bus.outbox.oldest_age",
		metric.WithDescription("Age of the oldest outbox row not yet published; 0 when the outbox is empty."),
		metric.WithUnit("s"))
	in.deadStored, _ = m.Int64ObservableGauge("treue.bus.dead_letters.stored",
		metric.WithDescription("Dead letters stored and not replayed, by consumer."),
		metric.WithUnit("{message}"))
	return in
})

// LoopState is what a consumer or the relay says about itself, for health checks.
type LoopState struct {
	// Running: the loop has started and not returned.
	Running bool
	// BusySince is when the unit of work under way (a batch) began; zero when idle.
	BusySince time.Time
	// Failures counts the units of work that failed in a row since the last success.
	Failures int
	// LastError is the last failure's error, "" after a success.
	LastError string
}

// loopState is LoopState kept safe for the loop and its observers.
type loopState struct {
	mu sync.Mutex
	s  LoopState
}

func (l *loopState) get() LoopState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s
}

func (l *loopState) running(on bool) {
	l.mu.Lock()
	l.s.Running = on
	l.mu.Unlock()
}

func (l *loopState) busy(on bool) {
	l.mu.Lock()
	if on {
		l.s.BusySince = time.Now()
	} else {
		l.s.BusySince = time.Time{}
	}
	l.mu.Unlock()
}

func (l *loopState) result(err error) {
	l.mu.Lock()
	if err != nil {
		l.s.Failures++
		l.s.LastError = err.Error()
	} else {
		l.s.Failures, l.s.LastError = 0, ""
	}
	l.mu.Unlock()
}

// observeLag reports the consumer's lag at every collection while it runs; the returned
// func stops it.
func (c *Consumer) observeLag(cons jetstream.Consumer) func() {
	in := meters()
	attrs := metric.WithAttributes(attribute.String("consumer", c.cfg.Name), attribute.String("stream", c.stream.Name))
	var stopped atomic.Bool
	reg, err := telemetry.Meter().RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		if stopped.Load() {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		info, err := cons.Info(ctx)
		if err != nil {
			// No figure rather than a wrong one; readiness reports the broken link.
			return nil
		}
		o.ObserveInt64(in.lag, int64(info.NumPending)+int64(info.NumAckPending), attrs)
		return nil
	}, in.lag)
	if err != nil {
		c.log.Warn("consumer lag metric not registered", "err", err)
		return func() {}
	}
	return func() {
		stopped.Store(true)
		_ = reg.Unregister()
	}
}

// ObserveStore reports the outbox's depth and oldest age and the dead letters stored in
// pool's schema at every collection, each labelled with attrs (the service's schema), so
// that several services in one process are told apart. The returned func stops it.
// consumers are the service's consumers: each gets a figure of stored dead letters, 0
// when it has none, so that a panel or an alert sees the series before the first one.
func ObserveStore(pool *pgxpool.Pool, consumers []string, attrs ...attribute.KeyValue) (stop func(), err error) {
	in := meters()
	reg, err := telemetry.Meter().RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		// count(*) scans the outbox, which the relay keeps near empty; the oldest row is
		// found through the primary key.
		var depth int64
		var age float64
		err := pool.QueryRow(ctx, `SELECT count(*),
			coalesce((SELECT extract(epoch FROM now() - created_at)::float8 FROM outbox ORDER BY id LIMIT 1), 0)
			FROM outbox`).Scan(&depth, &age)
		if err != nil {
			return nil // no figure while Postgres is away; readiness says why
		}
		set := metric.WithAttributes(attrs...)
		o.ObserveInt64(in.outboxDepth, depth, set)
		o.ObserveFloat64(in.outboxAge, max(age, 0), set)
		rows, err := pool.Query(ctx, `SELECT consumer, count(*) FROM dead_letters WHERE replayed_at IS NULL GROUP BY consumer`)
		if err != nil {
			return nil
		}
		defer rows.Close()
		stored := map[string]int64{}
		for _, c := range consumers {
			stored[c] = 0
		}
		for rows.Next() {
			var consumer string
			var n int64
			if rows.Scan(&consumer, &n) == nil {
				stored[consumer] = n
			}
		}
		for consumer, n := range stored {
			o.ObserveInt64(in.deadStored, n, metric.WithAttributes(append(attrs[:len(attrs):len(attrs)], attribute.String("consumer", consumer))...))
		}
		return nil
	}, in.outboxDepth, in.outboxAge, in.deadStored)
	if err != nil {
		return nil, err
	}
	return func() { _ = reg.Unregister() }, nil
}
