package grpcapi

import (
	"context"

	"github.com/treue/treue/pkg/grpcx"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/convert"
)

// GetCustomerTimeline pages through a member's timeline (roles in the proto).
func (s *Server) GetCustomerTimeline(ctx context.Context, req *feedbackv1.GetCustomerTimelineRequest) (*feedbackv1.GetCustomerTimelineResponse, error) {
	q, err := convert.TimelineQuery(req)
	if err != nil {
		return nil, grpcx.InvalidField("page_token", err.Error())
	}
	page, err := s.app.Queries.GetCustomerTimeline.Handle(ctx, q)
	return reply(page, err, convert.TimelineResponse)
}
