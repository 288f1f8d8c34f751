package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/convert"
)

// Privacy implements privacyv1.PrivacyServiceServer for the data the ledger holds.
type Privacy struct {
	privacyv1.UnimplementedPrivacyServiceServer
	app     *app.Application
	service string
}

// NewPrivacy returns the privacy server of a; service names the ledger in its answers.
func NewPrivacy(a *app.Application, service string) *Privacy {
	return &Privacy{app: a, service: service}
}

func (p *Privacy) ExportMember(ctx context.Context, req *privacyv1.ExportMemberRequest) (*privacyv1.ExportMemberResponse, error) {
	x, err := p.app.Queries.ExportMember.Handle(ctx, req.GetMemberId())
	if err != nil {
		return nil, toStatus(err)
	}
	data, err := convert.Export(x)
	if err != nil {
		return nil, err
	}
	return &privacyv1.ExportMemberResponse{
		Service: p.service, MemberId: req.GetMemberId(), Data: data, ExportedAt: timestamppb.Now(),
	}, nil
}
