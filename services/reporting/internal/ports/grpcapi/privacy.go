package grpcapi

import (
	"context"

	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/internal/convert"
)

// PrivacyServer serves treue.privacy.v1.PrivacyService for what reporting holds.
type PrivacyServer struct {
	privacyv1.UnimplementedPrivacyServiceServer
	service string
	app     *app.Application
}

// NewPrivacyServer returns the server; service names reporting in its answers.
func NewPrivacyServer(service string, a *app.Application) *PrivacyServer {
	return &PrivacyServer{service: service, app: a}
}

// ExportMember answers for an unknown member as for a known one: with what reporting
// holds about them, which is nothing.
func (s *PrivacyServer) ExportMember(ctx context.Context, req *privacyv1.ExportMemberRequest) (*privacyv1.ExportMemberResponse, error) {
	data, err := s.app.Queries.ExportMember.Handle(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	return convert.MemberData(s.service, req.GetMemberId(), data)
}
