package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ExportMember gathers what the service holds about a member, for their right of
// access.
type ExportMember struct {
	store Store
}

// Handle returns the member's data; a member the service never heard of has none, which
// is an answer, not an error.
func (h ExportMember) Handle(ctx context.Context, memberID string) (domain.MemberData, error) {
	d, err := h.store.MemberData(ctx, memberID)
	if err != nil {
		return domain.MemberData{}, err
	}
	d.MemberID = memberID
	return d, nil
}
