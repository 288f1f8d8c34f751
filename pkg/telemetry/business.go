package telemetry

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/treue/treue/pkg/pg"
)

// Counter is a business counter (points issued, cases opened, ...): it counts what a
// use case did, once the transaction that did it has committed. A port calls Add with
// what the use case returned; inside a consumer's batch the count waits for the batch's
// commit (pg.AfterCommit), so a rolled-back batch counts nothing and a redelivered
// event, which the inbox skips, is not counted twice.
type Counter struct{ c metric.Int64Counter }

// NewCounter returns the counter named name (dots, `treue.` prefix: exported to
// Prometheus as name with underscores and _total).
func NewCounter(name, description, unit string) Counter {
	c, _ := Meter().Int64Counter(name, metric.WithDescription(description), metric.WithUnit(unit))
	declared.Lock()
	declared.counters = append(declared.counters, c)
	declared.Unlock()
	return Counter{c}
}

// declared are the business counters made so far. Each is exported at 0 as soon as the
// meter provider is installed, so that a dashboard or an alert sees the series before
// the first purchase, return or refusal, instead of "no data".
var declared struct {
	sync.Mutex
	counters []metric.Int64Counter
}

// zeroCounters records 0 on every declared counter; SetupMetrics calls it once the
// provider is installed (measurements before that are dropped).
func zeroCounters() {
	declared.Lock()
	defer declared.Unlock()
	for _, c := range declared.counters {
		c.Add(context.Background(), 0)
	}
}

// Add adds n (nothing when n <= 0) once the transaction ctx carries commits, or at once
// when ctx carries none.
func (c Counter) Add(ctx context.Context, n int64, attrs ...attribute.KeyValue) {
	if n <= 0 {
		return
	}
	opt := metric.WithAttributeSet(attribute.NewSet(attrs...))
	pg.AfterCommit(ctx, func() { c.c.Add(context.WithoutCancel(ctx), n, opt) })
}
