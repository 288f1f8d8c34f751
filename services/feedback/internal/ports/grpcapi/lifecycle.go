package grpcapi

import (
	"context"
	"errors"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/convert"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// FailedPrecondition reasons of the lifecycle.
const (
	ReasonIllegalTransition = "ILLEGAL_TRANSITION"
	ReasonNotMergeable      = "NOT_MERGEABLE"
)

// ConfineAgents confines service_agent callers to teams: teams[key name] are the team
// keys a service_agent key may work; once any key is listed, an unlisted service_agent
// key works no team. Without a list (nil or empty) service_agent keys work every team.
// Admins, marketing and auditors are not confined.
func (s *Server) ConfineAgents(teams map[string][]string) { s.agentTeams = teams }

// actor is the authenticated caller as the use cases see it: its key name is who acts.
func (s *Server) actor(ctx context.Context) (app.Actor, error) {
	caller, ok := grpcx.CallerFrom(ctx)
	if !ok {
		return app.Actor{}, status.Error(codes.Unauthenticated, "no authenticated caller")
	}
	a := app.Actor{Name: caller.Name, Roles: caller.Roles}
	if len(s.agentTeams) > 0 && slices.Contains(caller.Roles, "service_agent") &&
		!slices.Contains(caller.Roles, "admin") && !slices.Contains(caller.Roles, "marketing") {
		a.Teams = append([]string{}, s.agentTeams[caller.Name]...)
	}
	return a, nil
}

func (s *Server) transition(ctx context.Context, id string, action app.Action, note string) (*feedbackv1.Case, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.app.Commands.TransitionCase.Handle(ctx, app.TransitionCaseCommand{CaseID: id, Action: action, Note: note, Actor: a})
	if err != nil {
		return nil, toStatus(err)
	}
	return convert.Case(c), nil
}

func (s *Server) AcknowledgeCase(ctx context.Context, req *feedbackv1.AcknowledgeCaseRequest) (*feedbackv1.AcknowledgeCaseResponse, error) {
	c, err := s.transition(ctx, req.GetCaseId(), app.ActionAcknowledge, req.GetNote())
	return &feedbackv1.AcknowledgeCaseResponse{Case: c}, err
}

func (s *Server) RecordContact(ctx context.Context, req *feedbackv1.RecordContactRequest) (*feedbackv1.RecordContactResponse, error) {
	c, err := s.transition(ctx, req.GetCaseId(), app.ActionContact, req.GetNote())
	return &feedbackv1.RecordContactResponse{Case: c}, err
}

func (s *Server) WaitForCustomer(ctx context.Context, req *feedbackv1.WaitForCustomerRequest) (*feedbackv1.WaitForCustomerResponse, error) {
	c, err := s.transition(ctx, req.GetCaseId(), app.ActionWait, req.GetNote())
	return &feedbackv1.WaitForCustomerResponse{Case: c}, err
}

func (s *Server) ResumeCase(ctx context.Context, req *feedbackv1.ResumeCaseRequest) (*feedbackv1.ResumeCaseResponse, error) {
	c, err := s.transition(ctx, req.GetCaseId(), app.ActionResume, req.GetNote())
	return &feedbackv1.ResumeCaseResponse{Case: c}, err
}

func (s *Server) CloseCase(ctx context.Context, req *feedbackv1.CloseCaseRequest) (*feedbackv1.CloseCaseResponse, error) {
	c, err := s.transition(ctx, req.GetCaseId(), app.ActionClose, req.GetNote())
	return &feedbackv1.CloseCaseResponse{Case: c}, err
}

func (s *Server) ReopenCase(ctx context.Context, req *feedbackv1.ReopenCaseRequest) (*feedbackv1.ReopenCaseResponse, error) {
	c, err := s.transition(ctx, req.GetCaseId(), app.ActionReopen, req.GetNote())
	return &feedbackv1.ReopenCaseResponse{Case: c}, err
}

func (s *Server) AddNote(ctx context.Context, req *feedbackv1.AddNoteRequest) (*feedbackv1.AddNoteResponse, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.app.Commands.AddNote.Handle(ctx, app.AddNoteCommand{CaseID: req.GetCaseId(), Text: req.GetText(), Actor: a})
	if err != nil {
		return nil, toStatus(err)
	}
	return &feedbackv1.AddNoteResponse{Case: convert.Case(c)}, nil
}

func (s *Server) ReassignCase(ctx context.Context, req *feedbackv1.ReassignCaseRequest) (*feedbackv1.ReassignCaseResponse, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.app.Commands.ReassignCase.Handle(ctx, app.ReassignCaseCommand{
		CaseID: req.GetCaseId(), StaffID: req.GetStaffId(), Note: req.GetNote(), Actor: a})
	if errors.Is(err, app.ErrNotTeamStaff) {
		return nil, grpcx.InvalidField("staff_id", err.Error())
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &feedbackv1.ReassignCaseResponse{Case: convert.Case(c)}, nil
}

func (s *Server) MergeCases(ctx context.Context, req *feedbackv1.MergeCasesRequest) (*feedbackv1.MergeCasesResponse, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	p, d, err := s.app.Commands.MergeCases.Handle(ctx, app.MergeCasesCommand{
		PrimaryID: req.GetPrimaryCaseId(), DuplicateID: req.GetDuplicateCaseId(), Actor: a})
	if err != nil {
		return nil, toStatus(err)
	}
	return &feedbackv1.MergeCasesResponse{Primary: convert.Case(p), Duplicate: convert.Case(d)}, nil
}

// lifecycleStatus maps the lifecycle's errors.
func lifecycleStatus(err error) (error, bool) {
	switch {
	case errors.Is(err, domain.ErrIllegalTransition):
		return grpcx.FailedPrecondition(ReasonIllegalTransition, "%s", err.Error()), true
	case errors.Is(err, domain.ErrNotMergeable):
		return grpcx.FailedPrecondition(ReasonNotMergeable, "%s", err.Error()), true
	case errors.Is(err, app.ErrNotYourTeam):
		return status.Error(codes.PermissionDenied, err.Error()), true
	}
	return nil, false
}
