package grpcapi

import (
	"context"

	"github.com/treue/treue/pkg/grpcx"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/convert"
)

// ListDeliveries implements surveyv1.SurveyServiceServer.
func (s *Survey) ListDeliveries(ctx context.Context, req *surveyv1.ListDeliveriesRequest) (*surveyv1.ListDeliveriesResponse, error) {
	after, err := convert.DecodePageToken(req.GetPageToken())
	if err != nil {
		return nil, grpcx.InvalidField("page_token", "not a token this API returned")
	}
	list, next, err := s.app.Queries.ListDeliveries.Handle(ctx, req.GetInvitationId(), req.GetFailedOnly(), after, int(req.GetPageSize()))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &surveyv1.ListDeliveriesResponse{
		Deliveries:    make([]*surveyv1.Delivery, len(list)),
		NextPageToken: convert.EncodePageToken(next),
	}
	for i, d := range list {
		out.Deliveries[i] = convert.ToProtoDelivery(d)
	}
	return out, nil
}
