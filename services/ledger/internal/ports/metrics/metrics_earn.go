package metrics

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
)

// ReasonCustomEvent is the reason attribute of points custom events earned.
const ReasonCustomEvent = "custom_event"

// CustomEventPoints counts points credited for custom events.
func CustomEventPoints(ctx context.Context, points int64) {
	pointsIssued.Add(ctx, points, attribute.String("reason", ReasonCustomEvent))
}
