package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// GetPointsSummary reports the programme's points position.
type GetPointsSummary struct {
	r   PointsReader
	now func() time.Time
}

func (q GetPointsSummary) Handle(ctx context.Context) (domain.PointsSummary, error) {
	asOf := q.now()
	t, err := q.r.PointsTotals(ctx)
	if err != nil {
		return domain.PointsSummary{}, err
	}
	return t.Summary(asOf), nil
}
