package convert

import (
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	"github.com/treue/treue/services/reporting/internal/domain"
)

// MemberData is the answer of ExportMember: what service holds about the member, as JSON.
func MemberData(service, memberID string, d domain.MemberData) (*privacyv1.ExportMemberResponse, error) {
	data, err := structpb.NewStruct(map[string]any{"note": d.Note})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return &privacyv1.ExportMemberResponse{
		Service:    service,
		MemberId:   memberID,
		Data:       data,
		ExportedAt: timestamppb.New(d.AsOf),
	}, nil
}
