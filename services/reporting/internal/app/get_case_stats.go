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
