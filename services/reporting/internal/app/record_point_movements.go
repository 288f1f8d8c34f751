package app

import (
	"context"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// RecordPointMovements adds a batch of ledger movements to the points counters: one
// increment per (day, counter), however many events the batch holds.
type RecordPointMovements struct{}

func (RecordPointMovements) Handle(ctx context.Context, w PointsWriter, moves []domain.PointsMovement) error {
	if len(moves) == 0 {
		return nil
	}
	return w.AddPoints(ctx, domain.TallyPoints(moves))
}
