// Package grpcapi serves treue.feedback.v1.FeedbackService and, for the feedback
// service's part of a member's data, treue.privacy.v1.PrivacyService. It translates:
// requests into use-case calls with convert, domain errors into statuses.
package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/convert"
	"github.com/treue/treue/services/feedback/internal/domain"
	"github.com/treue/treue/services/feedback/internal/ports/metrics"
)

// ReasonAlreadyResolved is the FailedPrecondition reason of resolving a resolved case.
const ReasonAlreadyResolved = "ALREADY_RESOLVED"

// FailedPrecondition reasons of goodwill: over the caller's role limit, and a case
// without a member.
const (
	ReasonGoodwillLimit     = "GOODWILL_LIMIT"
	ReasonGoodwillAnonymous = "GOODWILL_ANONYMOUS"
	// ReasonGoodwillAlreadyGranted: the case granted goodwill before (resolved with
	// goodwill, then reopened); ReasonGoodwillRewardsOff: a reward was asked for, but
	// the service has no rewards service (FEEDBACK_REWARDS_ADDR).
	ReasonGoodwillAlreadyGranted = "GOODWILL_ALREADY_GRANTED"
	ReasonGoodwillRewardsOff     = "GOODWILL_REWARDS_OFF"
)

// Server implements FeedbackService.
type Server struct {
	feedbackv1.UnimplementedFeedbackServiceServer
	app *app.Application
	// agentTeams confines service_agent keys to teams (see ConfineAgents).
	agentTeams map[string][]string
}

// NewServer returns the gRPC port over a.
func NewServer(a *app.Application) *Server { return &Server{app: a} }

func (s *Server) ListCases(ctx context.Context, req *feedbackv1.ListCasesRequest) (*feedbackv1.ListCasesResponse, error) {
	q, err := convert.ListCasesQuery(req)
	if err != nil {
		return nil, grpcx.InvalidField("page_token", err.Error())
	}
	if q.Actor, err = s.actor(ctx); err != nil {
		return nil, err
	}
	page, err := s.app.Queries.ListCases.Handle(ctx, q)
	return reply(page, err, convert.ListCasesResponse)
}

func (s *Server) GetCase(ctx context.Context, req *feedbackv1.GetCaseRequest) (*feedbackv1.GetCaseResponse, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.app.Queries.GetCase.Handle(ctx, req.GetCaseId(), a)
	return reply(c, err, convert.GetCaseResponse)
}

func (s *Server) ResolveCase(ctx context.Context, req *feedbackv1.ResolveCaseRequest) (*feedbackv1.ResolveCaseResponse, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	cmd := convert.ResolveCaseCommand(req, a.Name, a.Roles)
	cmd.Actor = a
	c, err := s.app.Commands.ResolveCase.Handle(ctx, cmd)
	if err == nil {
		metrics.CaseResolved(ctx, string(c.Outcome))
	}
	return reply(c, err, convert.ResolveCaseResponse)
}

// reply converts a use case's result, or its error to a status.
func reply[T, R any](v T, err error, conv func(T) R) (R, error) {
	if err != nil {
		var zero R
		return zero, toStatus(err)
	}
	return conv(v), nil
}

// toStatus maps domain errors; anything else is returned as is for pkg/grpcx (a context
// error becomes its code, the rest Internal).
func toStatus(err error) error {
	switch {
	case errors.Is(err, domain.ErrCaseNotFound):
		return status.Error(codes.NotFound, "case not found")
	case errors.Is(err, domain.ErrAlreadyResolved):
		return grpcx.FailedPrecondition(ReasonAlreadyResolved, "the case is already resolved")
	case errors.Is(err, domain.ErrGoodwillLimit):
		return grpcx.FailedPrecondition(ReasonGoodwillLimit, "%s", err.Error())
	case errors.Is(err, domain.ErrGoodwillAnonymous):
		return grpcx.FailedPrecondition(ReasonGoodwillAnonymous, "the case has no member to grant goodwill to")
	case errors.Is(err, domain.ErrGoodwillAlreadyGranted):
		return grpcx.FailedPrecondition(ReasonGoodwillAlreadyGranted,
			"goodwill_points, goodwill_reward_id: %s; resolve without goodwill", err.Error())
	case errors.Is(err, domain.ErrGoodwillRewardNotAllowed):
		return status.Errorf(codes.PermissionDenied, "goodwill_reward_id: %s", err.Error())
	case errors.Is(err, app.ErrGoodwillRewardsOff):
		return grpcx.FailedPrecondition(ReasonGoodwillRewardsOff, "goodwill_reward_id: %s", err.Error())
	case errors.Is(err, domain.ErrOutcomeNotAllowed):
		return grpcx.InvalidField("outcome", err.Error())
	}
	if st, ok := lifecycleStatus(err); ok {
		return st
	}
	return err
}
