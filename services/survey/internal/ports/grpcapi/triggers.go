package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/telemetry"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/convert"
	"github.com/treue/treue/services/survey/internal/domain"
	"github.com/treue/treue/services/survey/internal/ports/metrics"
)

// Triggers implements surveyv1.TriggerServiceServer.
type Triggers struct {
	surveyv1.UnimplementedTriggerServiceServer
	app *app.Application
}

// NewTriggers returns the server.
func NewTriggers(application *app.Application) *Triggers { return &Triggers{app: application} }

// CreateTriggerRule implements surveyv1.TriggerServiceServer.
func (s *Triggers) CreateTriggerRule(ctx context.Context, req *surveyv1.CreateTriggerRuleRequest) (*surveyv1.CreateTriggerRuleResponse, error) {
	spec, err := convert.TriggerRuleSpec(req.GetSpec())
	if err != nil {
		return nil, triggerStatus(err)
	}
	r, err := s.app.Commands.Triggers.CreateRule.Handle(ctx, req.GetIdempotencyKey(), spec, req.GetActive())
	if err != nil {
		return nil, triggerStatus(err)
	}
	return &surveyv1.CreateTriggerRuleResponse{Rule: convert.ToTriggerRule(r)}, nil
}

// UpdateTriggerRule implements surveyv1.TriggerServiceServer.
func (s *Triggers) UpdateTriggerRule(ctx context.Context, req *surveyv1.UpdateTriggerRuleRequest) (*surveyv1.UpdateTriggerRuleResponse, error) {
	spec, err := convert.TriggerRuleSpec(req.GetSpec())
	if err != nil {
		return nil, triggerStatus(err)
	}
	r, err := s.app.Commands.Triggers.UpdateRule.Handle(ctx, req.GetTriggerId(), spec)
	if err != nil {
		return nil, triggerStatus(err)
	}
	return &surveyv1.UpdateTriggerRuleResponse{Rule: convert.ToTriggerRule(r)}, nil
}

// SetTriggerRuleActive implements surveyv1.TriggerServiceServer.
func (s *Triggers) SetTriggerRuleActive(ctx context.Context, req *surveyv1.SetTriggerRuleActiveRequest) (*surveyv1.SetTriggerRuleActiveResponse, error) {
	r, err := s.app.Commands.Triggers.SetRuleActive.Handle(ctx, req.GetTriggerId(), req.GetActive())
	if err != nil {
		return nil, triggerStatus(err)
	}
	return &surveyv1.SetTriggerRuleActiveResponse{Rule: convert.ToTriggerRule(r)}, nil
}

// GetTriggerRule implements surveyv1.TriggerServiceServer.
func (s *Triggers) GetTriggerRule(ctx context.Context, req *surveyv1.GetTriggerRuleRequest) (*surveyv1.GetTriggerRuleResponse, error) {
	r, err := s.app.Queries.Triggers.GetRule.Handle(ctx, req.GetTriggerId())
	if err != nil {
		return nil, triggerStatus(err)
	}
	return &surveyv1.GetTriggerRuleResponse{Rule: convert.ToTriggerRule(r)}, nil
}

// ListTriggerRules implements surveyv1.TriggerServiceServer.
func (s *Triggers) ListTriggerRules(ctx context.Context, req *surveyv1.ListTriggerRulesRequest) (*surveyv1.ListTriggerRulesResponse, error) {
	rules, err := s.app.Queries.Triggers.ListRules.Handle(ctx, req.GetIncludeInactive())
	if err != nil {
		return nil, triggerStatus(err)
	}
	resp := &surveyv1.ListTriggerRulesResponse{}
	for _, r := range rules {
		resp.Rules = append(resp.Rules, convert.ToTriggerRule(r))
	}
	return resp, nil
}

// ListSuppressions implements surveyv1.TriggerServiceServer.
func (s *Triggers) ListSuppressions(ctx context.Context, req *surveyv1.ListSuppressionsRequest) (*surveyv1.ListSuppressionsResponse, error) {
	after, err := convert.DecodeSuppressionsToken(req.GetPageToken())
	if err != nil {
		return nil, grpcx.InvalidField("page_token", "not a token this API returned")
	}
	list, next, err := s.app.Queries.Triggers.ListSuppressions.Handle(ctx, app.SuppressionFilter{
		MemberID: req.GetMemberId(), Reason: convert.SuppressionReason(req.GetReason()),
	}, int(req.GetPageSize()), after)
	if err != nil {
		return nil, triggerStatus(err)
	}
	resp := &surveyv1.ListSuppressionsResponse{NextPageToken: convert.EncodeSuppressionsToken(next)}
	for _, x := range list {
		resp.Suppressions = append(resp.Suppressions, convert.ToSuppression(x))
	}
	return resp, nil
}

// RecordTouchpoint implements surveyv1.SurveyServiceServer.
func (s *Survey) RecordTouchpoint(ctx context.Context, req *surveyv1.RecordTouchpointRequest) (*surveyv1.RecordTouchpointResponse, error) {
	t, err := convert.RecordTouchpointTrigger(req)
	if err != nil {
		return nil, grpcx.InvalidField("touchpoint", err.Error())
	}
	res, out, err := s.app.Commands.Triggers.RecordTouchpoint.Handle(ctx, t)
	if err != nil {
		return nil, triggerStatus(err)
	}
	metrics.Evaluated(ctx, out)
	resp := &surveyv1.RecordTouchpointResponse{Outcome: string(res.Outcome)}
	if res.Invitation != nil {
		url := res.URL
		// The link answers the survey as the member: only role service reads it.
		if c, _ := grpcx.CallerFrom(ctx); !c.HasRole("service") && url != "" {
			url = ""
			telemetry.Refused(ctx, "owner_scope")
		}
		resp.Invitation = convert.ToScheduledInvitation(*res.Invitation, url)
	}
	return resp, nil
}

// triggerStatus maps the errors of trigger rules; the rest as toStatus does.
func triggerStatus(err error) error {
	var fe *domain.FieldError
	switch {
	case errors.As(err, &fe):
		return grpcx.InvalidField(fe.Field, fe.Reason)
	case errors.Is(err, domain.ErrTriggerRuleNotFound):
		return status.Error(codes.NotFound, "trigger rule not found")
	case errors.Is(err, domain.ErrIdempotencyKeyReused):
		return grpcx.FailedPrecondition("IDEMPOTENCY_KEY_REUSED", "the idempotency key was used to create another rule")
	}
	return toStatus(err)
}
