// Package grpcapi is reporting's gRPC port: ReportingService and PrivacyService. Requests
// arrive authenticated, authorised and validated (pkg/grpcx); the servers translate with
// convert, call one use case, and translate back.
package grpcapi

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/grpcx"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/internal/convert"
	"github.com/treue/treue/services/reporting/internal/domain"
)

// Server serves treue.reporting.v1.ReportingService.
type Server struct {
	reportingv1.UnimplementedReportingServiceServer
	app *app.Application
}

func NewServer(a *app.Application) *Server { return &Server{app: a} }

func (s *Server) GetNps(ctx context.Context, req *reportingv1.GetNpsRequest) (*reportingv1.GetNpsResponse, error) {
	from, to, err := periodOf(req)
	if err != nil {
		return nil, err
	}
	report, err := s.app.Queries.GetNps.Handle(ctx, from, to)
	if err != nil {
		return nil, periodError(err)
	}
	return convert.NpsReport(report), nil
}

func (s *Server) GetScores(ctx context.Context, req *reportingv1.GetScoresRequest) (*reportingv1.GetScoresResponse, error) {
	from, to, err := periodOf(req)
	if err != nil {
		return nil, err
	}
	csat, ces, err := s.app.Queries.GetScores.Handle(ctx, from, to)
	if err != nil {
		return nil, periodError(err)
	}
	return convert.ScoresReport(csat, ces), nil
}

func (s *Server) GetSurveyFunnel(ctx context.Context, req *reportingv1.GetSurveyFunnelRequest) (*reportingv1.GetSurveyFunnelResponse, error) {
	from, to, err := periodOf(req)
	if err != nil {
		return nil, err
	}
	report, err := s.app.Queries.GetSurveyFunnel.Handle(ctx, from, to)
	if err != nil {
		return nil, periodError(err)
	}
	return convert.SurveyFunnel(report), nil
}

func (s *Server) GetTopics(ctx context.Context, req *reportingv1.GetTopicsRequest) (*reportingv1.GetTopicsResponse, error) {
	from, to, err := periodOf(req)
	if err != nil {
		return nil, err
	}
	report, err := s.app.Queries.GetTopics.Handle(ctx, from, to, req.GetStoreId(), int(req.GetLimit()))
	if err != nil {
		return nil, periodError(err)
	}
	return convert.TopicReport(report), nil
}

func (s *Server) GetFollowUpStats(ctx context.Context, req *reportingv1.GetFollowUpStatsRequest) (*reportingv1.GetFollowUpStatsResponse, error) {
	from, to, err := periodOf(req)
	if err != nil {
		return nil, err
	}
	report, err := s.app.Queries.GetFollowUpStats.Handle(ctx, from, to, req.GetTeam(), req.GetStoreId())
	if err != nil {
		return nil, periodError(err)
	}
	return convert.FollowUpReport(report), nil
}

func (s *Server) GetPointsSummary(ctx context.Context, _ *reportingv1.GetPointsSummaryRequest) (*reportingv1.GetPointsSummaryResponse, error) {
	sum, err := s.app.Queries.GetPointsSummary.Handle(ctx)
	if err != nil {
		return nil, err
	}
	return convert.PointsSummary(sum), nil
}

// periodRequest is a request for the figures of a period, both ends optional.
type periodRequest interface {
	GetFrom() *timestamppb.Timestamp
	GetTo() *timestamppb.Timestamp
}

func periodOf(req periodRequest) (from, to *time.Time, err error) {
	if from, err = optionalTime("from", req.GetFrom()); err != nil {
		return nil, nil, err
	}
	if to, err = optionalTime("to", req.GetTo()); err != nil {
		return nil, nil, err
	}
	return from, to, nil
}

// periodError is the status of a query's error: a reversed period names its from.
func periodError(err error) error {
	if errors.Is(err, domain.ErrPeriodReversed) {
		return grpcx.InvalidField("from", err.Error())
	}
	return err
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
