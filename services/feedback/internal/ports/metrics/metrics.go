// Package metrics is feedback's business counters: cases opened and resolved, and the
// cases overdue as a gauge. The ports count what a use case returned it did;
// telemetry.Counter holds the count back until the transaction commits, so a rolled-back
// batch counts nothing and a redelivered event (skipped by the inbox) is not counted
// twice.
package metrics

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/treue/treue/pkg/telemetry"
)

var (
	opened = telemetry.NewCounter("treue.feedback.cases.opened",
		"Follow-up cases opened from survey responses.", "{case}")
	resolved = telemetry.NewCounter("treue.feedback.cases.resolved",
		"Cases resolved, by outcome (contacted_resolved, unreachable, referral_given, ...).", "{case}")
)

// CasesOpened counts n cases opened.
func CasesOpened(ctx context.Context, n int) { opened.Add(ctx, int64(n)) }

// CaseResolved counts a case resolved with outcome.
func CaseResolved(ctx context.Context, outcome string) {
	resolved.Add(ctx, 1, attribute.String("outcome", strings.ToLower(outcome)))
}

// ObserveOverdue reports the cases open and past due at every collection, with overdue;
// unregister it when the service stops.
func ObserveOverdue(overdue func(ctx context.Context) (int64, error)) (metric.Registration, error) {
	g, err := telemetry.Meter().Int64ObservableGauge("treue.feedback.cases.overdue",
		metric.WithDescription("Cases open and past their due time."),
		metric.WithUnit("{case}"))
	if err != nil {
		return nil, err
	}
	return telemetry.Meter().RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		// A collection must not hang on a slow database.
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n, err := overdue(ctx)
		if err != nil {
			return err
		}
		o.ObserveInt64(g, n)
		return nil
	}, g)
}
