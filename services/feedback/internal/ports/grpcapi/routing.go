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
)

// ReasonRuleNameTaken is the FailedPrecondition reason of a rule name another rule has.
const ReasonRuleNameTaken = "RULE_NAME_TAKEN"

// ReasonUnknownTeam is the FailedPrecondition reason of a team key no team has.
const ReasonUnknownTeam = "UNKNOWN_TEAM"

// RoutingServer implements RoutingService.
type RoutingServer struct {
	feedbackv1.UnimplementedRoutingServiceServer
	app *app.Application
}

// NewRoutingServer returns the routing gRPC port over a.
func NewRoutingServer(a *app.Application) *RoutingServer { return &RoutingServer{app: a} }

func (s *RoutingServer) CreateRule(ctx context.Context, req *feedbackv1.CreateRuleRequest) (*feedbackv1.CreateRuleResponse, error) {
	r, err := s.app.Commands.CreateRule.Handle(ctx, convert.RuleSpec(req.GetSpec()), req.GetIdempotencyKey())
	if err != nil {
		return nil, routingStatus(err)
	}
	return &feedbackv1.CreateRuleResponse{Rule: convert.Rule(r)}, nil
}

func (s *RoutingServer) UpdateRule(ctx context.Context, req *feedbackv1.UpdateRuleRequest) (*feedbackv1.UpdateRuleResponse, error) {
	r, err := s.app.Commands.UpdateRule.Handle(ctx, req.GetRuleId(), convert.RuleSpec(req.GetSpec()))
	if err != nil {
		return nil, routingStatus(err)
	}
	return &feedbackv1.UpdateRuleResponse{Rule: convert.Rule(r)}, nil
}

func (s *RoutingServer) Reorder(ctx context.Context, req *feedbackv1.ReorderRequest) (*feedbackv1.ReorderResponse, error) {
	orders := make(map[int64]int, len(req.GetPriorities()))
	for _, p := range req.GetPriorities() {
		if _, dup := orders[p.GetRuleId()]; dup {
			return nil, grpcx.InvalidField("priorities", "a rule is named twice")
		}
		orders[p.GetRuleId()] = int(p.GetPriority())
	}
	rules, err := s.app.Commands.ReorderRules.Handle(ctx, orders)
	if err != nil {
		return nil, routingStatus(err)
	}
	return &feedbackv1.ReorderResponse{Rules: convert.Rules(rules)}, nil
}

func (s *RoutingServer) SetRuleEnabled(ctx context.Context, req *feedbackv1.SetRuleEnabledRequest) (*feedbackv1.SetRuleEnabledResponse, error) {
	r, err := s.app.Commands.SetRuleEnabled.Handle(ctx, req.GetRuleId(), req.GetEnabled())
	if err != nil {
		return nil, routingStatus(err)
	}
	return &feedbackv1.SetRuleEnabledResponse{Rule: convert.Rule(r)}, nil
}

func (s *RoutingServer) SetDefaultRoute(ctx context.Context, req *feedbackv1.SetDefaultRouteRequest) (*feedbackv1.SetDefaultRouteResponse, error) {
	d, err := s.app.Commands.SetDefaultRoute.Handle(ctx, convert.DefaultRouteOf(req.GetRoute()))
	if err != nil {
		return nil, routingStatus(err)
	}
	return &feedbackv1.SetDefaultRouteResponse{Route: convert.DefaultRoute(d)}, nil
}

func (s *RoutingServer) SetStoreRegions(ctx context.Context, req *feedbackv1.SetStoreRegionsRequest) (*feedbackv1.SetStoreRegionsResponse, error) {
	if err := s.app.Commands.SetStoreRegions.Handle(ctx, convert.StoreRegions(req.GetRegions())); err != nil {
		return nil, routingStatus(err)
	}
	return &feedbackv1.SetStoreRegionsResponse{}, nil
}

func (s *RoutingServer) ListRules(ctx context.Context, _ *feedbackv1.ListRulesRequest) (*feedbackv1.ListRulesResponse, error) {
	rules, d, err := s.app.Queries.ListRules.Handle(ctx)
	if err != nil {
		return nil, routingStatus(err)
	}
	return &feedbackv1.ListRulesResponse{Rules: convert.Rules(rules), DefaultRoute: convert.DefaultRoute(d)}, nil
}

func (s *RoutingServer) GetRule(ctx context.Context, req *feedbackv1.GetRuleRequest) (*feedbackv1.GetRuleResponse, error) {
	r, versions, err := s.app.Queries.GetRule.Handle(ctx, req.GetRuleId())
	if err != nil {
		return nil, routingStatus(err)
	}
	out := &feedbackv1.GetRuleResponse{Rule: convert.Rule(r)}
	for _, v := range versions {
		out.Versions = append(out.Versions, convert.RuleVersion(v))
	}
	return out, nil
}

func (s *RoutingServer) DryRun(ctx context.Context, req *feedbackv1.DryRunRequest) (*feedbackv1.DryRunResponse, error) {
	r, override := convert.Sample(req)
	res, err := s.app.Queries.DryRun.Handle(ctx, r, override)
	if err != nil {
		return nil, routingStatus(err)
	}
	return convert.DryRunResponse(res), nil
}

func routingStatus(err error) error {
	var fe *domain.FieldError
	switch {
	case errors.Is(err, domain.ErrUnknownTeam) && errors.As(err, &fe):
		return grpcx.FailedPrecondition(ReasonUnknownTeam, "%s: %s", fe.Field, fe.Reason)
	case errors.As(err, &fe):
		return grpcx.InvalidField(fe.Field, fe.Reason)
	case errors.Is(err, domain.ErrRuleNotFound):
		return status.Error(codes.NotFound, "routing rule not found")
	case errors.Is(err, domain.ErrRuleNameTaken):
		return grpcx.FailedPrecondition(ReasonRuleNameTaken, "another rule has this name")
	}
	return err
}
