// Package metrics is reporting's business counters: the events it recorded, and the NPS
// answers by class and touchpoint so that a dashboard computes the NPS from them. The
// ports count what a use case recorded; telemetry.Counter holds the count back until the
// consumer's batch commits, so a rolled-back batch counts nothing and a redelivered
// event (skipped by the inbox) is not counted twice.
package metrics

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/treue/treue/pkg/telemetry"
	"github.com/treue/treue/services/reporting/internal/domain"
)

var (
	recorded = telemetry.NewCounter("treue.reporting.events.recorded",
		"Events recorded into the read models, by kind (response, points, case, coupon, invitation, topics).", "{event}")
	answers = telemetry.NewCounter("treue.reporting.nps.responses",
		"NPS answers recorded, by class (promoter, passive, detractor) and touchpoint: NPS = 100 * (promoters - detractors) / all.", "{response}")
)

// Kinds of events recorded.
const (
	KindResponse = "response"
	KindPoints   = "points"
	KindCase     = "case"
	KindCoupon   = "coupon"
	// KindInvitation: a survey invitation's step (created, sent, suppressed, failed).
	KindInvitation = "invitation"
	// KindTopics: a response whose comment named topics.
	KindTopics = "topics"
)

// Recorded counts n events of kind recorded.
func Recorded(ctx context.Context, kind string, n int) {
	recorded.Add(ctx, int64(n), attribute.String("kind", kind))
}

// Responses counts answers recorded, and the NPS answers among them by class and
// touchpoint.
func Responses(ctx context.Context, rs []domain.Response) {
	type key struct {
		class      domain.NpsClass
		touchpoint string
	}
	n := map[key]int64{}
	for _, r := range rs {
		if r.Kind == domain.KindCSAT || r.Kind == domain.KindCES {
			continue // CSAT and CES answers count among the events recorded only
		}
		n[key{r.Class, r.Touchpoint}]++
	}
	for k, c := range n {
		answers.Add(ctx, c, attribute.String("class", className(k.class)), attribute.String("touchpoint", strings.ToLower(k.touchpoint)))
	}
	Recorded(ctx, KindResponse, len(rs))
}

func className(c domain.NpsClass) string {
	switch c {
	case domain.Promoter:
		return "promoter"
	case domain.Passive:
		return "passive"
	case domain.Detractor:
		return "detractor"
	}
	return "unknown"
}

// ObserveOutstanding reports the programme's points liability (points members hold or
// have on hold, as reporting has counted them) at every collection, with outstanding;
// unregister it when the service stops.
func ObserveOutstanding(outstanding func(ctx context.Context) (int64, error)) (metric.Registration, error) {
	g, err := telemetry.Meter().Int64ObservableGauge("treue.reporting.points.outstanding",
		metric.WithDescription("The programme's points liability: points members hold or have on hold."),
		metric.WithUnit("{point}"))
	if err != nil {
		return nil, err
	}
	return telemetry.Meter().RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		// A collection must not hang on a slow database.
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n, err := outstanding(ctx)
		if err != nil {
			return err
		}
		o.ObserveInt64(g, n)
		return nil
	}, g)
}
