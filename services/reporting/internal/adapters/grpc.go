package adapters

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/grpcx"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/internal/domain"
)

// GRPCServer serves treue.reporting.v1.ReportingService. Requests arrive authenticated,
// authorised and validated (pkg/grpcx); it only translates.
type GRPCServer struct {
	reportingv1.UnimplementedReportingServiceServer
	app app.Application
}

func NewGRPCServer(a app.Application) *GRPCServer { return &GRPCServer{app: a} }

func (s *GRPCServer) GetNps(ctx context.Context, req *reportingv1.GetNpsRequest) (*reportingv1.GetNpsResponse, error) {
	from, err := optionalTime("from", req.GetFrom())
	if err != nil {
		return nil, err
	}
	to, err := optionalTime("to", req.GetTo())
	if err != nil {
		return nil, err
	}
	report, err := s.app.Queries.GetNps.Handle(ctx, from, to)
	if errors.Is(err, domain.ErrPeriodReversed) {
		return nil, grpcx.InvalidField("from", err.Error())
	}
	if err != nil {
		return nil, err
	}
	return toProtoNps(report), nil
}

func (s *GRPCServer) GetPointsSummary(ctx context.Context, _ *reportingv1.GetPointsSummaryRequest) (*reportingv1.GetPointsSummaryResponse, error) {
	sum, err := s.app.Queries.GetPointsSummary.Handle(ctx)
	if err != nil {
		return nil, err
	}
	return toProtoPointsSummary(sum), nil
}

func optionalTime(field string, ts *timestamppb.Timestamp) (*time.Time, error) {
	if ts == nil {
		return nil, nil
	}
	if err := ts.CheckValid(); err != nil {
		return nil, grpcx.InvalidField(field, err.Error())
	}
	t := ts.AsTime()
	return &t, nil
}

func toProtoNps(r domain.NpsReport) *reportingv1.GetNpsResponse {
	return &reportingv1.GetNpsResponse{
		Overall:      toProtoNpsFigure(domain.NpsGroup{NpsCounts: r.Overall}),
		ByTouchpoint: toProtoNpsFigures(r.ByTouchpoint),
		ByStore:      toProtoNpsFigures(r.ByStore),
		ByDay:        toProtoNpsFigures(r.ByDay),
	}
}

func toProtoNpsFigures(groups []domain.NpsGroup) []*reportingv1.NpsFigure {
	out := make([]*reportingv1.NpsFigure, len(groups))
	for i, g := range groups {
		out[i] = toProtoNpsFigure(g)
	}
	return out
}

func toProtoNpsFigure(g domain.NpsGroup) *reportingv1.NpsFigure {
	return &reportingv1.NpsFigure{
		Key:        g.Key,
		Promoters:  g.Promoters,
		Passives:   g.Passives,
		Detractors: g.Detractors,
		Responses:  g.Responses(),
		Score:      g.Score(),
	}
}

func toProtoPointsSummary(s domain.PointsSummary) *reportingv1.GetPointsSummaryResponse {
	return &reportingv1.GetPointsSummaryResponse{
		Issued:      s.Issued,
		Returned:    s.Returned,
		Redeemed:    s.Redeemed,
		Expired:     s.Expired,
		Outstanding: s.Outstanding(),
		AsOf:        timestamppb.New(s.AsOf),
	}
}
