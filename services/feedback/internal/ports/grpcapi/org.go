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

// ReasonIdempotencyKeyReused is the FailedPrecondition reason of a create retried with
// the same idempotency key but other content.
const ReasonIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"

// TeamServer implements TeamService.
type TeamServer struct {
	feedbackv1.UnimplementedTeamServiceServer
	app *app.Application
}

// NewTeamServer returns the gRPC port of teams and staff over a.
func NewTeamServer(a *app.Application) *TeamServer { return &TeamServer{app: a} }

func (s *TeamServer) CreateTeam(ctx context.Context, req *feedbackv1.CreateTeamRequest) (*feedbackv1.CreateTeamResponse, error) {
	cmd, err := convert.CreateTeamCommand(req, grpcx.IdempotencyScope(ctx, req.GetIdempotencyKey()))
	if err != nil {
		return nil, orgStatus(err)
	}
	t, err := s.app.Commands.CreateTeam.Handle(ctx, cmd)
	return orgReply(t, err, func(t domain.Team) *feedbackv1.CreateTeamResponse {
		return &feedbackv1.CreateTeamResponse{Team: convert.TeamProto(t)}
	})
}

func (s *TeamServer) UpdateTeam(ctx context.Context, req *feedbackv1.UpdateTeamRequest) (*feedbackv1.UpdateTeamResponse, error) {
	cmd, err := convert.UpdateTeamCommand(req)
	if err != nil {
		return nil, orgStatus(err)
	}
	t, err := s.app.Commands.UpdateTeam.Handle(ctx, cmd)
	return orgReply(t, err, func(t domain.Team) *feedbackv1.UpdateTeamResponse {
		return &feedbackv1.UpdateTeamResponse{Team: convert.TeamProto(t)}
	})
}

func (s *TeamServer) SetHolidays(ctx context.Context, req *feedbackv1.SetHolidaysRequest) (*feedbackv1.SetHolidaysResponse, error) {
	t, err := s.app.Commands.SetHolidays.Handle(ctx, req.GetTeamId(), convert.Holidays(req.GetHolidays()))
	return orgReply(t, err, func(t domain.Team) *feedbackv1.SetHolidaysResponse {
		return &feedbackv1.SetHolidaysResponse{Team: convert.TeamProto(t)}
	})
}

func (s *TeamServer) GetTeam(ctx context.Context, req *feedbackv1.GetTeamRequest) (*feedbackv1.GetTeamResponse, error) {
	t, err := s.app.Queries.GetTeam.Handle(ctx, req.GetTeam())
	return orgReply(t, err, func(t domain.Team) *feedbackv1.GetTeamResponse {
		return &feedbackv1.GetTeamResponse{Team: convert.TeamProto(t)}
	})
}

func (s *TeamServer) ListTeams(ctx context.Context, _ *feedbackv1.ListTeamsRequest) (*feedbackv1.ListTeamsResponse, error) {
	ts, err := s.app.Queries.ListTeams.Handle(ctx)
	return orgReply(ts, err, func(ts []domain.Team) *feedbackv1.ListTeamsResponse {
		return &feedbackv1.ListTeamsResponse{Teams: convert.TeamsProto(ts)}
	})
}

func (s *TeamServer) AddStaff(ctx context.Context, req *feedbackv1.AddStaffRequest) (*feedbackv1.AddStaffResponse, error) {
	st, err := s.app.Commands.AddStaff.Handle(ctx, convert.AddStaffCommand(req, grpcx.IdempotencyScope(ctx, req.GetIdempotencyKey())))
	return orgReply(st, err, func(st domain.Staff) *feedbackv1.AddStaffResponse {
		return &feedbackv1.AddStaffResponse{Staff: convert.StaffProto(st)}
	})
}

func (s *TeamServer) UpdateStaff(ctx context.Context, req *feedbackv1.UpdateStaffRequest) (*feedbackv1.UpdateStaffResponse, error) {
	st, err := s.app.Commands.UpdateStaff.Handle(ctx, convert.UpdateStaff(req))
	return orgReply(st, err, func(st domain.Staff) *feedbackv1.UpdateStaffResponse {
		return &feedbackv1.UpdateStaffResponse{Staff: convert.StaffProto(st)}
	})
}

func (s *TeamServer) ListStaff(ctx context.Context, req *feedbackv1.ListStaffRequest) (*feedbackv1.ListStaffResponse, error) {
	ss, err := s.app.Queries.ListStaff.Handle(ctx, req.GetTeamId(), req.GetIncludeInactive())
	return orgReply(ss, err, func(ss []domain.Staff) *feedbackv1.ListStaffResponse {
		return &feedbackv1.ListStaffResponse{Staff: convert.StaffListProto(ss)}
	})
}

func orgReply[T, R any](v T, err error, conv func(T) R) (R, error) {
	if err != nil {
		var zero R
		return zero, orgStatus(err)
	}
	return conv(v), nil
}

// orgStatus maps the errors of teams and staff.
func orgStatus(err error) error {
	var fe *domain.FieldError
	switch {
	case errors.As(err, &fe):
		return grpcx.InvalidField(fe.Field, fe.Reason)
	case errors.Is(err, domain.ErrTeamNotFound):
		return status.Error(codes.NotFound, "team not found")
	case errors.Is(err, domain.ErrStaffNotFound):
		return status.Error(codes.NotFound, "staff not found")
	case errors.Is(err, domain.ErrTeamExists):
		return status.Error(codes.AlreadyExists, "another team has the key")
	case errors.Is(err, domain.ErrStaffEmailTaken):
		return status.Error(codes.AlreadyExists, "another member of staff has the email")
	case errors.Is(err, domain.ErrIdempotencyKeyReused):
		return grpcx.FailedPrecondition(ReasonIdempotencyKeyReused, "the idempotency key was used before for a different request")
	}
	return err
}
