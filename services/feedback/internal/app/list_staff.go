package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ListStaff returns staff by name.
type ListStaff struct{ store Store }

// Handle lists the team's staff (every team's when teamID is ""), the inactive too when
// includeInactive.
func (h ListStaff) Handle(ctx context.Context, teamID string, includeInactive bool) ([]domain.Staff, error) {
	return h.store.StaffList(ctx, teamID, includeInactive)
}
