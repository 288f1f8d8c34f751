package grpcapi

import (
	"context"
	"time"

	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/convert"
)

// Privacy implements privacyv1.PrivacyServiceServer for the survey's own data.
type Privacy struct {
	privacyv1.UnimplementedPrivacyServiceServer
	app     *app.Application
	service string
}

// NewPrivacy returns the server; service names the answering service in exports.
func NewPrivacy(application *app.Application, service string) *Privacy {
	return &Privacy{app: application, service: service}
}

// ExportMember implements privacyv1.PrivacyServiceServer.
func (p *Privacy) ExportMember(ctx context.Context, req *privacyv1.ExportMemberRequest) (*privacyv1.ExportMemberResponse, error) {
	data, err := p.app.Queries.ExportMember.Handle(ctx, req.GetMemberId())
	if err != nil {
		return nil, toStatus(err)
	}
	return convert.ToExportMemberResponse(p.service, data, time.Now())
}
