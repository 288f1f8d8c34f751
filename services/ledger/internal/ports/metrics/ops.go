package metrics

import (
	"context"

	"go.opentelemetry.io/otel/attribute"

	"github.com/treue/treue/pkg/telemetry"
)

var pointsAdjusted = telemetry.NewCounter("treue.ledger.points.adjusted",
	"Points credited or debited by hand (AdjustPoints), by direction.", "{point}")

// PointsAdjusted counts points of an adjustment just made, direction credit or debit.
func PointsAdjusted(ctx context.Context, direction string, points int64) {
	pointsAdjusted.Add(ctx, points, attribute.String("direction", direction))
}
