package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// GetScores reports the CSAT and CES figures of a range of days.
type GetScores struct {
	r   ScoreReader
	now func() time.Time
}

// Handle reports the days from..to (UTC, both included) as GetNps does; it returns
// domain.ErrPeriodReversed when from is after to.
func (q GetScores) Handle(ctx context.Context, from, to *time.Time) (csat, ces domain.ScoreReport, err error) {
	p, err := domain.NewPeriod(from, to, q.now())
	if err != nil {
		return csat, ces, err
	}
	if csat, err = q.report(ctx, domain.KindCSAT, p); err != nil {
		return csat, ces, err
	}
	ces, err = q.report(ctx, domain.KindCES, p)
	return csat, ces, err
}

func (q GetScores) report(ctx context.Context, kind domain.ScoreKind, p domain.Period) (domain.ScoreReport, error) {
	t, err := q.r.ScoreTotals(ctx, kind, p)
	if err != nil {
		return domain.ScoreReport{}, err
	}
	report := domain.ScoreReport{Kind: kind, Period: p, Overall: t.Overall, ByTouchpoint: t.ByTouchpoint, ByDay: t.ByDay}
	for _, g := range t.ByStore {
		// As for NPS: answers that name no store count overall and for their touchpoint.
		if g.Key != "" {
			report.ByStore = append(report.ByStore, g)
		}
	}
	domain.SortScoreGroups(report.ByTouchpoint)
	domain.SortScoreGroups(report.ByStore)
	domain.SortScoreGroups(report.ByDay)
	return report, nil
}
