package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// PointsReader sums the points counters over all time.
type PointsReader interface {
	PointsTotals(ctx context.Context) (domain.PointsTotals, error)
}

// GetPointsSummary reports the programme's points position.
type GetPointsSummary struct {
	r   PointsReader
	now func() time.Time
}

func NewGetPointsSummary(r PointsReader, now func() time.Time) GetPointsSummary {
	return GetPointsSummary{r: r, now: now}
}

func (q GetPointsSummary) Handle(ctx context.Context) (domain.PointsSummary, error) {
	asOf := q.now()
	t, err := q.r.PointsTotals(ctx)
	if err != nil {
		return domain.PointsSummary{}, err
	}
	return t.Summary(asOf), nil
}
