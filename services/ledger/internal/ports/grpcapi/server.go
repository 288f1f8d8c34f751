// Package grpcapi serves treue.ledger.v1.LedgerService and the ledger's part of
// treue.privacy.v1.PrivacyService: it translates requests into use cases and the
// ledger's errors into gRPC statuses. Requests arrive validated (pkg/grpcx runs
// protovalidate and refuses NUL bytes) and authorised.
package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/convert"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/ports/metrics"
)

// Reasons of FailedPrecondition errors, in their ErrorInfo detail.
const (
	ReasonInsufficientPoints   = "INSUFFICIENT_POINTS"
	ReasonHoldNotOpen          = "HOLD_NOT_OPEN"
	ReasonIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
)

// Server implements ledgerv1.LedgerServiceServer.
type Server struct {
	ledgerv1.UnimplementedLedgerServiceServer
	app *app.Application
}

// till reports whether the caller is a till (a pos key and nothing more): it learns of a
// member only what the till needs, never their name, email or consents.
func till(ctx context.Context) bool {
	c, _ := grpcx.CallerFrom(ctx)
	return c.StoreBound()
}

// actor is the caller as the audit log records it.
func actor(ctx context.Context) domain.Actor {
	c, _ := grpcx.CallerFrom(ctx)
	return domain.Actor{Name: c.Name, KeyID: c.KeyID, Roles: c.Roles}
}

// New returns the server of a.
func New(a *app.Application) *Server { return &Server{app: a} }

func (s *Server) Enroll(ctx context.Context, req *ledgerv1.EnrollRequest) (*ledgerv1.EnrollResponse, error) {
	m, err := s.app.Commands.Enroll.Handle(ctx, actor(ctx), grpcx.IdempotencyScope(ctx, req.GetIdempotencyKey()), convert.Enrolment(req))
	return reply(m, err, convert.EnrollResponse)
}

func (s *Server) GetMember(ctx context.Context, req *ledgerv1.GetMemberRequest) (*ledgerv1.GetMemberResponse, error) {
	m, err := s.app.Queries.GetMember.Handle(ctx, req.GetMemberId())
	to := convert.GetMemberResponse
	if till(ctx) {
		to = convert.TillMemberResponse
	}
	resp, err := reply(m, err, to)
	if err != nil {
		return nil, err
	}
	return s.withTierStatus(ctx, resp)
}

func (s *Server) EraseMember(ctx context.Context, req *ledgerv1.EraseMemberRequest) (*ledgerv1.EraseMemberResponse, error) {
	m, err := s.app.Commands.EraseMember.Handle(ctx, req.GetMemberId(), req.GetReason())
	return reply(m, err, convert.Erasure)
}

func (s *Server) GetBalance(ctx context.Context, req *ledgerv1.GetBalanceRequest) (*ledgerv1.GetBalanceResponse, error) {
	b, err := s.app.Queries.GetBalance.Handle(ctx, req.GetMemberId())
	if till(ctx) {
		return reply(b, err, convert.TillBalance)
	}
	return reply(b, err, convert.Balance)
}

func (s *Server) ListTransactions(ctx context.Context, req *ledgerv1.ListTransactionsRequest) (*ledgerv1.ListTransactionsResponse, error) {
	txs, next, err := s.app.Queries.ListTransactions.Handle(ctx, req.GetMemberId(), convert.HistoryQuery(req), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, toStatus(err)
	}
	return convert.Transactions(txs, next), nil
}

func (s *Server) PlaceHold(ctx context.Context, req *ledgerv1.PlaceHoldRequest) (*ledgerv1.PlaceHoldResponse, error) {
	h, err := s.app.Commands.PlaceHold.Handle(ctx, convert.HoldRequest(req, grpcx.IdempotencyScope(ctx, req.GetIdempotencyKey())))
	return reply(h, err, convert.PlaceHoldResponse)
}

func (s *Server) CaptureHold(ctx context.Context, req *ledgerv1.CaptureHoldRequest) (*ledgerv1.CaptureHoldResponse, error) {
	h, captured, err := s.app.Commands.CaptureHold.Handle(ctx, req.GetHoldId())
	if err == nil && captured {
		metrics.PointsRedeemed(ctx, h.Points)
	}
	return reply(h, err, convert.CaptureHoldResponse)
}

func (s *Server) VoidHold(ctx context.Context, req *ledgerv1.VoidHoldRequest) (*ledgerv1.VoidHoldResponse, error) {
	h, _, err := s.app.Commands.VoidHold.Handle(ctx, req.GetHoldId(), req.GetReason())
	return reply(h, err, convert.VoidHoldResponse)
}

// reply answers with what a use case returned: its result through to, or its error as
// a status.
func reply[T, R any](v T, err error, to func(T) R) (R, error) {
	if err != nil {
		var zero R
		return zero, toStatus(err)
	}
	return to(v), nil
}

// toStatus maps the ledger's errors; anything else is left for pkg/grpcx (a context error
// becomes its code, the rest is logged and hidden as Internal).
func toStatus(err error) error {
	if st := membersStatus(err); st != nil {
		return st
	}
	if st := opsStatus(err); st != nil {
		return st
	}
	switch {
	case errors.Is(err, domain.ErrMemberNotFound):
		return status.Error(codes.NotFound, "member not found")
	case errors.Is(err, domain.ErrHoldNotFound):
		return status.Error(codes.NotFound, "hold not found")
	case errors.Is(err, domain.ErrInsufficientPoints):
		return grpcx.FailedPrecondition(ReasonInsufficientPoints, "the member has fewer points available than the hold needs")
	case errors.Is(err, domain.ErrHoldNotOpen):
		return grpcx.FailedPrecondition(ReasonHoldNotOpen, "the hold is no longer open")
	case errors.Is(err, domain.ErrIdempotencyKeyReused):
		return grpcx.FailedPrecondition(ReasonIdempotencyKeyReused, "the idempotency key was used before for a different request")
	case errors.Is(err, domain.ErrInvalidPageToken):
		return grpcx.InvalidField("page_token", err.Error())
	}
	return err
}
