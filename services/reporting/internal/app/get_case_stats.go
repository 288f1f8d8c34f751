package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// CaseReader computes the follow-up figures; a case is overdue when open past its due
// time at now.
type CaseReader interface {
	CaseStats(ctx context.Context, now time.Time) (domain.CaseStats, error)
}

// GetCaseStats reports open and resolved cases and how fast they are followed up.
type GetCaseStats struct {
	r   CaseReader
	now func() time.Time
}

func NewGetCaseStats(r CaseReader, now func() time.Time) GetCaseStats {
	return GetCaseStats{r: r, now: now}
}

func (q GetCaseStats) Handle(ctx context.Context) (domain.CaseStats, error) {
	return q.r.CaseStats(ctx, q.now())
}
