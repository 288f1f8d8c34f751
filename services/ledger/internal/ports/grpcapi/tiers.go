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
)

// TierServer implements ledgerv1.TierServiceServer.
type TierServer struct {
	ledgerv1.UnimplementedTierServiceServer
	app *app.Application
}

// NewTiers returns the tier server of a.
func NewTiers(a *app.Application) *TierServer { return &TierServer{app: a} }

func (s *TierServer) DefineTiers(ctx context.Context, req *ledgerv1.DefineTiersRequest) (*ledgerv1.DefineTiersResponse, error) {
	p, err := s.app.Commands.Tiers.DefineTiers.Handle(ctx, actor(ctx), convert.TierProgramme(req))
	return tierReply(p, err, convert.DefineTiersResponse)
}

func (s *TierServer) UpdateTier(ctx context.Context, req *ledgerv1.UpdateTierRequest) (*ledgerv1.UpdateTierResponse, error) {
	p, err := s.app.Commands.Tiers.UpdateTier.Handle(ctx, actor(ctx), convert.UpdatedTier(req))
	return tierReply(p, err, convert.UpdateTierResponse)
}

func (s *TierServer) ListTiers(ctx context.Context, _ *ledgerv1.ListTiersRequest) (*ledgerv1.ListTiersResponse, error) {
	p, err := s.app.Queries.Tiers.ListTiers.Handle(ctx)
	return tierReply(p, err, convert.ListTiersResponse)
}

func (s *TierServer) SetManualTier(ctx context.Context, req *ledgerv1.SetManualTierRequest) (*ledgerv1.SetManualTierResponse, error) {
	st, err := s.app.Commands.Tiers.SetManualTier.Handle(ctx, actor(ctx), req.GetMemberId(), req.GetTier(),
		convert.ManualUntil(req.GetExpiresAt()), req.GetNote())
	return tierReply(st, err, convert.SetManualTierResponse)
}

func (s *TierServer) GetTierStatus(ctx context.Context, req *ledgerv1.GetTierStatusRequest) (*ledgerv1.GetTierStatusResponse, error) {
	st, err := s.app.Queries.Tiers.GetTierStatus.Handle(ctx, req.GetMemberId())
	return tierReply(st, err, convert.GetTierStatusResponse)
}

// tierReply is reply with the tiers' errors: a refused definition names its field.
func tierReply[T, R any](v T, err error, to func(T) R) (R, error) {
	var te *domain.TierError
	switch {
	case errors.As(err, &te):
		var zero R
		return zero, grpcx.InvalidField(te.Field, te.Reason)
	case errors.Is(err, domain.ErrTierNotFound):
		var zero R
		return zero, status.Error(codes.NotFound, "tier not found")
	}
	return reply(v, err, to)
}

// withTierStatus adds the member's tier progress and safe-until date to a GetMember
// answer.
func (s *Server) withTierStatus(ctx context.Context, resp *ledgerv1.GetMemberResponse) (*ledgerv1.GetMemberResponse, error) {
	st, err := s.app.Queries.Tiers.GetTierStatus.Handle(ctx, resp.GetMember().GetMemberId())
	if err != nil {
		return nil, toStatus(err)
	}
	convert.WithTierStatus(resp.Member, st)
	return resp, nil
}
