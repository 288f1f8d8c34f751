package app

import (
	"context"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// ExportMember answers a member's right of access for reporting. No read model names a
// member (see domain.NoMemberData; the store's tests hold its tables to that), so there
// is nothing to read: the export is the note that says so, for a known member and an
// unknown one alike.
type ExportMember struct{}

func (q ExportMember) Handle(_ context.Context, _ string) (domain.MemberData, error) {
	return domain.MemberData{Note: domain.NoMemberData}, nil
}
