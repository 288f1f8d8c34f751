package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// GetTopics reports what customers' comments talked about over a range of days.
type GetTopics struct {
	r   TopicReader
	now func() time.Time
}

// Handle reports the days from..to (UTC, both included) as GetNps does, of one store's
// responses or (storeID "") of all, the most mentioned limit topics (0: all), each with
// the period of equal length before for its trend. It returns domain.ErrPeriodReversed
// when from is after to.
func (q GetTopics) Handle(ctx context.Context, from, to *time.Time, storeID string, limit int) (domain.TopicReport, error) {
	p, err := domain.NewPeriod(from, to, q.now())
	if err != nil {
		return domain.TopicReport{}, err
	}
	totals, err := q.r.TopicTotals(ctx, p, storeID)
	if err != nil {
		return domain.TopicReport{}, err
	}
	return domain.NewTopicReport(p, totals, limit), nil
}
