// Package grpcapi serves the survey's gRPC API (treue.survey.v1.SurveyService) and its
// part of treue.privacy.v1.PrivacyService: it translates requests into use-case calls
// and domain errors into statuses, nothing more. The server's interceptors have already
// authorised the caller and validated the request.
package grpcapi

import (
	"context"
	"errors"
	"fmt"

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

// Survey implements surveyv1.SurveyServiceServer.
type Survey struct {
	surveyv1.UnimplementedSurveyServiceServer
	app *app.Application
}

// NewSurvey returns the server.
func NewSurvey(application *app.Application) *Survey { return &Survey{app: application} }

// SubmitResponse implements surveyv1.SurveyServiceServer.
func (s *Survey) SubmitResponse(ctx context.Context, req *surveyv1.SubmitResponseRequest) (*surveyv1.SubmitResponseResponse, error) {
	var resp domain.Response
	var err error
	if len(req.GetAnswers()) == 0 {
		resp, err = s.app.Commands.SubmitResponse.HandleScore(ctx, req.GetToken(), int(req.GetScore()), req.GetComment())
	} else {
		answers, dup, ok := convert.FromProtoAnswers(req.GetAnswers())
		if !ok {
			return nil, grpcx.InvalidField(fmt.Sprintf("answers[%d].question_id", dup), "answered twice")
		}
		resp, err = s.app.Commands.SubmitResponse.HandleWithScore(ctx, req.GetToken(), answers, int(req.GetScore()))
	}
	if err != nil {
		return nil, toStatus(err)
	}
	metrics.ResponseReceived(ctx, resp)
	return &surveyv1.SubmitResponseResponse{Response: convert.ToProtoResponse(resp)}, nil
}

// ListInvitations implements surveyv1.SurveyServiceServer.
func (s *Survey) ListInvitations(ctx context.Context, req *surveyv1.ListInvitationsRequest) (*surveyv1.ListInvitationsResponse, error) {
	after, err := convert.DecodePageToken(req.GetPageToken())
	if err != nil {
		return nil, grpcx.InvalidField("page_token", "not a token this API returned")
	}
	list, next, err := s.app.Queries.ListInvitations.Handle(ctx, app.ListInvitationsQuery{
		MemberID: req.GetMemberId(), PageSize: int(req.GetPageSize()), After: after,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := convert.ToListInvitationsResponse(list, next)
	// A link answers the survey as the member: only the mailer (role service) that sends
	// it may read it. Others see the invitation without it.
	if c, _ := grpcx.CallerFrom(ctx); !c.HasRole("service") {
		withheld := false
		for _, inv := range resp.GetInvitations() {
			withheld = withheld || inv.GetUrl() != ""
			inv.Url = ""
		}
		if withheld {
			telemetry.Refused(ctx, "owner_scope")
		}
	}
	return resp, nil
}

// toStatus maps the domain's errors; anything else is left to the server's interceptor,
// which answers a context error with its code, and logs the rest and answers Internal.
func toStatus(err error) error {
	var field *domain.FieldError
	switch {
	case errors.As(err, &field):
		return grpcx.InvalidField(field.Field, field.Reason)
	case errors.Is(err, domain.ErrTokenInvalid):
		return grpcx.InvalidField("token", "not a valid survey link token")
	case errors.Is(err, domain.ErrScoreOutOfRange):
		return grpcx.InvalidField("score", "must be 0-10")
	case errors.Is(err, domain.ErrCommentTooLong):
		return grpcx.InvalidField("comment", "too long")
	case errors.Is(err, domain.ErrLinkExpired):
		return grpcx.FailedPrecondition("LINK_EXPIRED", "the survey link has expired")
	case errors.Is(err, domain.ErrAlreadyAnswered):
		return grpcx.FailedPrecondition("ALREADY_ANSWERED", "the invitation has already been answered")
	case errors.Is(err, domain.ErrNotYetDue):
		return grpcx.FailedPrecondition("NOT_YET_DUE", "the survey link does not work yet")
	case errors.Is(err, domain.ErrInvitationNotFound):
		return status.Error(codes.NotFound, "invitation not found")
	case errors.Is(err, domain.ErrSurveyNotFound):
		return status.Error(codes.NotFound, "survey not found")
	case errors.Is(err, domain.ErrVersionNotFound):
		return status.Error(codes.NotFound, "survey version not found")
	case errors.Is(err, domain.ErrNotDraft):
		return grpcx.FailedPrecondition("NOT_DRAFT", "only a draft version can be published")
	case errors.Is(err, domain.ErrSurveyRetired):
		return grpcx.FailedPrecondition("SURVEY_RETIRED", "the survey is retired")
	case errors.Is(err, domain.ErrIdempotencyKeyReused):
		return grpcx.FailedPrecondition("IDEMPOTENCY_KEY_REUSED", "the idempotency key was used before for a different request")
	}
	return err
}
