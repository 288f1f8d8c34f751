// Package grpcport serves treue.survey.v1.SurveyService: it translates requests into
// use-case calls and domain errors into statuses, nothing more.
package grpcport

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/adapters/pbconv"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

// Server implements surveyv1.SurveyServiceServer.
type Server struct {
	surveyv1.UnimplementedSurveyServiceServer
	app *app.Application
}

// New returns the server.
func New(application *app.Application) *Server { return &Server{app: application} }

// SubmitResponse implements surveyv1.SurveyServiceServer.
func (s *Server) SubmitResponse(ctx context.Context, req *surveyv1.SubmitResponseRequest) (*surveyv1.SubmitResponseResponse, error) {
	resp, err := s.app.SubmitResponse.Handle(ctx, app.SubmitResponseCommand{
		Token: req.GetToken(), Score: int(req.GetScore()), Comment: req.GetComment(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &surveyv1.SubmitResponseResponse{Response: pbconv.ToProtoResponse(resp)}, nil
}

// ListInvitations implements surveyv1.SurveyServiceServer.
func (s *Server) ListInvitations(ctx context.Context, req *surveyv1.ListInvitationsRequest) (*surveyv1.ListInvitationsResponse, error) {
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, grpcx.InvalidField("page_token", "not a token this API returned")
	}
	list, next, err := s.app.ListInvitations.Handle(ctx, app.ListInvitationsQuery{
		MemberID: req.GetMemberId(), PageSize: int(req.GetPageSize()), After: after,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &surveyv1.ListInvitationsResponse{NextPageToken: encodePageToken(next)}
	for _, v := range list {
		out.Invitations = append(out.Invitations, pbconv.ToProtoInvitation(v.Invitation, v.URL, v.Answered))
	}
	return out, nil
}

// toStatus maps the domain's errors; anything else is left to the server's interceptor,
// which logs it and answers Internal.
func toStatus(err error) error {
	switch {
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
	case errors.Is(err, domain.ErrInvitationNotFound):
		return status.Error(codes.NotFound, "invitation not found")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return err
}

// Page tokens are opaque to callers: base64url of "<created_at RFC 3339>|<invitation id>",
// the position of the last invitation of the page.
func encodePageToken(c *app.Cursor) string {
	if c == nil {
		return ""
	}
	raw := c.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodePageToken(token string) (*app.Cursor, error) {
	if token == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, err
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok {
		return nil, errors.New("malformed page token")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return nil, err
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, err
	}
	return &app.Cursor{CreatedAt: t, ID: u.String()}, nil
}
