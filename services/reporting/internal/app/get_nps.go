package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// GetNps reports the NPS of a range of days.
type GetNps struct {
	r   NpsReader
	now func() time.Time
}

func NewGetNps(r NpsReader, now func() time.Time) GetNps {
	return GetNps{r: r, now: now}
}

// Handle reports the days from..to (UTC, both included); nil bounds take the defaults
// of domain.NewPeriod. It returns domain.ErrPeriodReversed when from is after to.
func (q GetNps) Handle(ctx context.Context, from, to *time.Time) (domain.NpsReport, error) {
	p, err := domain.NewPeriod(from, to, q.now())
	if err != nil {
		return domain.NpsReport{}, err
	}
	t, err := q.r.NpsTotals(ctx, p)
	if err != nil {
		return domain.NpsReport{}, err
	}
	report := domain.NpsReport{Period: p, Overall: t.Overall, ByTouchpoint: t.ByTouchpoint, ByDay: t.ByDay}
	for _, g := range t.ByStore {
		// Answers that name no store (web visits, calls) belong to no store's figure;
		// they still count overall and for their touchpoint.
		if g.Key != "" {
			report.ByStore = append(report.ByStore, g)
		}
	}
	domain.SortGroupsByKey(report.ByTouchpoint)
	domain.SortGroupsByKey(report.ByStore)
	domain.SortGroupsByKey(report.ByDay)
	return report, nil
}
