package grpcapi

import (
	"context"

	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/convert"
)

// PrivacyServer implements PrivacyService for the data the feedback service holds.
type PrivacyServer struct {
	privacyv1.UnimplementedPrivacyServiceServer
	service string
	app     *app.Application
}

// NewPrivacyServer returns the privacy port over a; service names the answering service.
func NewPrivacyServer(service string, a *app.Application) *PrivacyServer {
	return &PrivacyServer{service: service, app: a}
}

func (s *PrivacyServer) ExportMember(ctx context.Context, req *privacyv1.ExportMemberRequest) (*privacyv1.ExportMemberResponse, error) {
	e, err := s.app.Queries.ExportMember.Handle(ctx, req.GetMemberId())
	if err != nil {
		return nil, toStatus(err)
	}
	return convert.ExportMemberResponse(s.service, e)
}
