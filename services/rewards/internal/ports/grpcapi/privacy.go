package grpcapi

import (
	"context"

	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/convert"
)

// Privacy implements privacyv1.PrivacyServiceServer for the rewards service's data.
type Privacy struct {
	privacyv1.UnimplementedPrivacyServiceServer
	service string
	app     *app.Application
}

// NewPrivacy returns the privacy port of application; service names it in exports.
func NewPrivacy(service string, application *app.Application) *Privacy {
	return &Privacy{service: service, app: application}
}

func (p *Privacy) ExportMember(ctx context.Context, req *privacyv1.ExportMemberRequest) (*privacyv1.ExportMemberResponse, error) {
	records, err := p.app.Queries.ExportMember.Handle(ctx, req.GetMemberId())
	if err != nil {
		return nil, toStatus(err)
	}
	return convert.ExportMemberResponse(p.service, records)
}
