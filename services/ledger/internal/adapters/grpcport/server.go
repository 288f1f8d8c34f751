// Package grpcport serves treue.ledger.v1.LedgerService: it translates requests into use
// cases and the ledger's errors into gRPC statuses. Requests arrive validated (pkg/grpcx
// runs protovalidate) and authorised.
package grpcport

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/adapters/protoconv"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/domain"
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

// New returns the port of a.
func New(a *app.Application) *Server { return &Server{app: a} }

func (s *Server) Enroll(ctx context.Context, req *ledgerv1.EnrollRequest) (*ledgerv1.EnrollResponse, error) {
	m, err := s.app.Enroll(ctx, req.GetIdempotencyKey(), domain.Enrolment{
		DisplayName: req.GetDisplayName(), Email: req.GetEmail(), Locale: req.GetLocale(),
		SurveyConsent: req.GetSurveyConsent(), MarketingConsent: req.GetMarketingConsent(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &ledgerv1.EnrollResponse{Member: protoconv.Member(m)}, nil
}

func (s *Server) GetMember(ctx context.Context, req *ledgerv1.GetMemberRequest) (*ledgerv1.GetMemberResponse, error) {
	m, err := s.app.GetMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &ledgerv1.GetMemberResponse{Member: protoconv.Member(m)}, nil
}

func (s *Server) GetBalance(ctx context.Context, req *ledgerv1.GetBalanceRequest) (*ledgerv1.GetBalanceResponse, error) {
	b, err := s.app.GetBalance(ctx, req.GetMemberId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &ledgerv1.GetBalanceResponse{MemberId: b.MemberID, Available: b.Available, Held: b.Held, Pending: b.Pending}, nil
}

func (s *Server) ListTransactions(ctx context.Context, req *ledgerv1.ListTransactionsRequest) (*ledgerv1.ListTransactionsResponse, error) {
	txs, next, err := s.app.ListTransactions(ctx, req.GetMemberId(), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &ledgerv1.ListTransactionsResponse{NextPageToken: next, Transactions: make([]*ledgerv1.Transaction, len(txs))}
	for i, t := range txs {
		out := &ledgerv1.Transaction{
			TransactionId: t.ID, Kind: string(t.Kind), Reason: protoconv.Reason(t.Reason), Reference: t.Reference,
			Points: t.AvailableChange(t.MemberID), CreatedAt: protoconv.Timestamp(t.CreatedAt),
		}
		for _, p := range t.Postings {
			out.Postings = append(out.Postings, &ledgerv1.Posting{Source: p.Source, Destination: p.Destination, Amount: p.Amount})
		}
		resp.Transactions[i] = out
	}
	return resp, nil
}

func (s *Server) PlaceHold(ctx context.Context, req *ledgerv1.PlaceHoldRequest) (*ledgerv1.PlaceHoldResponse, error) {
	h, err := s.app.PlaceHold(ctx, domain.HoldRequest{
		IdempotencyKey: req.GetIdempotencyKey(), MemberID: req.GetMemberId(), Points: req.GetPoints(),
		Reference: req.GetReference(), TTL: req.GetTtl().AsDuration(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &ledgerv1.PlaceHoldResponse{Hold: protoconv.Hold(h)}, nil
}

func (s *Server) CaptureHold(ctx context.Context, req *ledgerv1.CaptureHoldRequest) (*ledgerv1.CaptureHoldResponse, error) {
	h, err := s.app.CaptureHold(ctx, req.GetHoldId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &ledgerv1.CaptureHoldResponse{Hold: protoconv.Hold(h)}, nil
}

func (s *Server) VoidHold(ctx context.Context, req *ledgerv1.VoidHoldRequest) (*ledgerv1.VoidHoldResponse, error) {
	h, err := s.app.VoidHold(ctx, req.GetHoldId(), req.GetReason())
	if err != nil {
		return nil, toStatus(err)
	}
	return &ledgerv1.VoidHoldResponse{Hold: protoconv.Hold(h)}, nil
}

// toStatus maps the ledger's errors; anything else is left for pkg/grpcx to log and hide
// as Internal.
func toStatus(err error) error {
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
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return err
}
