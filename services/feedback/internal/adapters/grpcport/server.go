// Package grpcport serves treue.feedback.v1.FeedbackService: it translates requests into
// use-case calls and domain errors into statuses.
package grpcport

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/adapters/convert"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// ReasonAlreadyResolved is the FailedPrecondition reason of resolving a resolved case.
const ReasonAlreadyResolved = "ALREADY_RESOLVED"

// Server implements FeedbackService.
type Server struct {
	feedbackv1.UnimplementedFeedbackServiceServer
	app *app.Application
}

// NewServer returns the gRPC port over a.
func NewServer(a *app.Application) *Server { return &Server{app: a} }

func (s *Server) ListCases(ctx context.Context, req *feedbackv1.ListCasesRequest) (*feedbackv1.ListCasesResponse, error) {
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, grpcx.InvalidField("page_token", "not a token this API returned")
	}
	page, err := s.app.ListCases.Handle(ctx, app.ListCasesQuery{
		Team:        req.GetTeam(),
		Status:      convert.StatusFromProto(req.GetStatus()),
		OnlyOverdue: req.GetOverdue(),
		PageSize:    int(req.GetPageSize()),
		After:       after,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &feedbackv1.ListCasesResponse{Cases: make([]*feedbackv1.Case, len(page.Cases))}
	for i, c := range page.Cases {
		out.Cases[i] = convert.CaseToProto(c)
	}
	if page.Next != nil {
		out.NextPageToken = encodePageToken(*page.Next)
	}
	return out, nil
}

func (s *Server) GetCase(ctx context.Context, req *feedbackv1.GetCaseRequest) (*feedbackv1.GetCaseResponse, error) {
	c, err := s.app.GetCase.Handle(ctx, req.GetCaseId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &feedbackv1.GetCaseResponse{Case: convert.CaseToProto(c)}, nil
}

func (s *Server) ResolveCase(ctx context.Context, req *feedbackv1.ResolveCaseRequest) (*feedbackv1.ResolveCaseResponse, error) {
	caller, ok := grpcx.CallerFrom(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no authenticated caller")
	}
	c, err := s.app.ResolveCase.Handle(ctx, app.ResolveCaseCommand{
		CaseID:     req.GetCaseId(),
		Outcome:    convert.OutcomeFromProto(req.GetOutcome()),
		Note:       req.GetNote(),
		ResolvedBy: caller.Name,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &feedbackv1.ResolveCaseResponse{Case: convert.CaseToProto(c)}, nil
}

// toStatus maps domain errors; anything else is returned as is and becomes Internal.
func toStatus(err error) error {
	switch {
	case errors.Is(err, domain.ErrCaseNotFound):
		return status.Error(codes.NotFound, "case not found")
	case errors.Is(err, domain.ErrAlreadyResolved):
		return grpcx.FailedPrecondition(ReasonAlreadyResolved, "the case is already resolved")
	case errors.Is(err, domain.ErrOutcomeNotAllowed):
		return grpcx.InvalidField("outcome", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "canceled")
	}
	return err
}

// A page token is base64url of: version byte, opened_at in Unix microseconds, case id.
const tokenVersion = 1

func encodePageToken(c app.Cursor) string {
	id := uuid.MustParse(c.CaseID)
	b := make([]byte, 0, 1+8+16)
	b = append(b, tokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.OpenedAt.UnixMicro()))
	b = append(b, id[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(token string) (*app.Cursor, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, err
	}
	if len(b) != 1+8+16 || b[0] != tokenVersion {
		return nil, errors.New("malformed page token")
	}
	id, err := uuid.FromBytes(b[9:])
	if err != nil {
		return nil, err
	}
	return &app.Cursor{
		OpenedAt: time.UnixMicro(int64(binary.BigEndian.Uint64(b[1:9]))).UTC(),
		CaseID:   id.String(),
	}, nil
}
