package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// ExportMemberHandler gathers what the service holds about a member, for their data
// export.
type ExportMemberHandler struct {
	store Store
	now   func() time.Time
}

// Handle returns the member's records; a member the service knows nothing of has
// empty ones, not an error.
func (h ExportMemberHandler) Handle(ctx context.Context, memberID string) (domain.MemberRecords, error) {
	out := domain.MemberRecords{MemberID: memberID}
	if id, ok := memberKey(memberID); ok {
		var err error
		if out, err = h.store.MemberRecords(ctx, id); err != nil {
			return domain.MemberRecords{}, err
		}
		out.MemberID = memberID
	}
	out.At = h.now()
	return out, nil
}
