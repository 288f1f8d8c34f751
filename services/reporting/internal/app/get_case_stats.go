package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// GetCaseStats reports open and resolved cases and how fast they are followed up.
type GetCaseStats struct {
	r   CaseReader
	now func() time.Time
}

func (q GetCaseStats) Handle(ctx context.Context) (domain.CaseStats, error) {
	return q.r.CaseStats(ctx, q.now())
}

// GetFollowUpStats reports how the loop of the cases opened over a range of days closed.
type GetFollowUpStats struct {
	r   CaseReader
	now func() time.Time
}

// Handle reports the cases opened on the days from..to (UTC, both included; defaults as
// GetNps), of one team and one store ("" for all). It returns domain.ErrPeriodReversed
// when from is after to.
func (q GetFollowUpStats) Handle(ctx context.Context, from, to *time.Time, team, storeID string) (domain.FollowUpReport, error) {
	now := q.now()
	p, err := domain.NewPeriod(from, to, now)
	if err != nil {
		return domain.FollowUpReport{}, err
	}
	overall, byTeam, err := q.r.FollowUpStats(ctx, p, team, storeID, now)
	if err != nil {
		return domain.FollowUpReport{}, err
	}
	return domain.NewFollowUpReport(p, team, storeID, overall, byTeam), nil
}
