package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// MemberExport is a member's data as of a moment.
type MemberExport struct {
	domain.MemberData
	ExportedAt time.Time
}

// ExportMember gathers what the service holds about a member, for their right of
// access.
type ExportMember struct {
	store Store
	clock func() time.Time
}

// Handle returns the member's data; a member the service never heard of has none, which
// is an answer, not an error.
func (h ExportMember) Handle(ctx context.Context, memberID string) (MemberExport, error) {
	at := h.clock()
	d, err := h.store.MemberData(ctx, memberID)
	if err != nil {
		return MemberExport{}, err
	}
	d.MemberID = memberID
	return MemberExport{MemberData: d, ExportedAt: at}, nil
}
