package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// GetSurveyFunnel reports what became of survey invitations over a range of days.
type GetSurveyFunnel struct {
	r   FunnelReader
	now func() time.Time
}

// Handle reports the days from..to (UTC, both included) as GetNps does; it returns
// domain.ErrPeriodReversed when from is after to.
func (q GetSurveyFunnel) Handle(ctx context.Context, from, to *time.Time) (domain.FunnelReport, error) {
	p, err := domain.NewPeriod(from, to, q.now())
	if err != nil {
		return domain.FunnelReport{}, err
	}
	cells, err := q.r.FunnelCells(ctx, p)
	if err != nil {
		return domain.FunnelReport{}, err
	}
	return domain.NewFunnelReport(p, cells), nil
}
