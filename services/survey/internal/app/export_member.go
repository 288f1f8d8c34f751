package app

import (
	"context"

	"github.com/treue/treue/services/survey/internal/domain"
)

// ExportMember gathers everything the survey holds about a member, for the member's
// right of access. An unknown member has an empty export, not an error.
type ExportMember struct {
	store Store
}

// Handle returns the member's data.
func (h *ExportMember) Handle(ctx context.Context, memberID string) (domain.MemberData, error) {
	return h.store.MemberData(ctx, memberID)
}
