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

// Reasons of the members' FailedPrecondition errors.
const ReasonClaimWindowClosed = "CLAIM_WINDOW_CLOSED"

// MemberServer implements ledgerv1.MemberServiceServer.
type MemberServer struct {
	ledgerv1.UnimplementedMemberServiceServer
	app *app.Application
}

// NewMembers returns the MemberService server of a.
func NewMembers(a *app.Application) *MemberServer { return &MemberServer{app: a} }

func (s *MemberServer) AddIdentifier(ctx context.Context, req *ledgerv1.AddIdentifierRequest) (*ledgerv1.AddIdentifierResponse, error) {
	id, claimable, err := s.app.Commands.AddIdentifier.Handle(ctx, actor(ctx), req.GetMemberId(), convert.IdentifierIn(req.GetIdentifier()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &ledgerv1.AddIdentifierResponse{Identifier: convert.Identifier(id), ClaimableReceipts: convert.ClaimableReceipts(claimable)}, nil
}

func (s *MemberServer) RemoveIdentifier(ctx context.Context, req *ledgerv1.RemoveIdentifierRequest) (*ledgerv1.RemoveIdentifierResponse, error) {
	err := s.app.Commands.RemoveIdentifier.Handle(ctx, actor(ctx), req.GetMemberId(), convert.IdentifierIn(req.GetIdentifier()), req.GetNote())
	if err != nil {
		return nil, toStatus(err)
	}
	return &ledgerv1.RemoveIdentifierResponse{}, nil
}

func (s *MemberServer) LookupMember(ctx context.Context, req *ledgerv1.LookupMemberRequest) (*ledgerv1.LookupMemberResponse, error) {
	v, err := s.app.Queries.LookupMember.Handle(ctx, convert.IdentifierIn(req.GetIdentifier()))
	return reply(v, err, convert.TillView)
}

func (s *MemberServer) SearchMembers(ctx context.Context, req *ledgerv1.SearchMembersRequest) (*ledgerv1.SearchMembersResponse, error) {
	ps, next, err := s.app.Queries.SearchMembers.Handle(ctx, req.GetQuery(), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &ledgerv1.SearchMembersResponse{NextPageToken: next, Members: make([]*ledgerv1.MemberProfile, len(ps))}
	for i, p := range ps {
		resp.Members[i] = convert.Profile(p)
	}
	return resp, nil
}

func (s *MemberServer) GetMemberProfile(ctx context.Context, req *ledgerv1.GetMemberProfileRequest) (*ledgerv1.GetMemberProfileResponse, error) {
	p, err := s.app.Queries.GetMemberProfile.Handle(ctx, req.GetMemberId())
	return reply(p, err, func(p domain.Profile) *ledgerv1.GetMemberProfileResponse {
		return &ledgerv1.GetMemberProfileResponse{Profile: convert.Profile(p)}
	})
}

func (s *MemberServer) UpdateMember(ctx context.Context, req *ledgerv1.UpdateMemberRequest) (*ledgerv1.UpdateMemberResponse, error) {
	p, err := s.app.Commands.UpdateMember.Handle(ctx, actor(ctx), req.GetMemberId(), app.MemberUpdate{
		Mask: req.GetUpdateMask(), DisplayName: req.GetDisplayName(), Locale: req.GetLocale(),
		Tags: req.GetTags(), Attributes: req.GetAttributes(), Note: req.GetNote(), TimeZone: req.GetTimeZone(),
	})
	return reply(p, err, func(p domain.Profile) *ledgerv1.UpdateMemberResponse {
		return &ledgerv1.UpdateMemberResponse{Profile: convert.Profile(p)}
	})
}

func (s *MemberServer) ClaimPurchase(ctx context.Context, req *ledgerv1.ClaimPurchaseRequest) (*ledgerv1.ClaimPurchaseResponse, error) {
	c, err := s.app.Commands.ClaimPurchase.Handle(ctx, actor(ctx), convert.ClaimRequest(req, grpcx.IdempotencyScope(ctx, req.GetIdempotencyKey())))
	return reply(c, err, convert.Claim)
}

func (s *MemberServer) RecordConsent(ctx context.Context, req *ledgerv1.RecordConsentRequest) (*ledgerv1.RecordConsentResponse, error) {
	r, err := s.app.Commands.ChangeConsent.Handle(ctx, actor(ctx), req.GetMemberId(), domain.ConsentRecord{
		Purpose: convert.ConsentPurposeIn(req.GetPurpose()), Granted: true, Wording: req.GetWording(),
		WordingVersion: req.GetWordingVersion(), Channel: convert.ChannelIn(req.GetChannel()), Evidence: req.GetEvidence(),
	})
	return reply(r, err, func(r domain.ConsentRecord) *ledgerv1.RecordConsentResponse {
		return &ledgerv1.RecordConsentResponse{Consent: convert.ConsentRecord(r)}
	})
}

func (s *MemberServer) WithdrawConsent(ctx context.Context, req *ledgerv1.WithdrawConsentRequest) (*ledgerv1.WithdrawConsentResponse, error) {
	r, err := s.app.Commands.ChangeConsent.Handle(ctx, actor(ctx), req.GetMemberId(), domain.ConsentRecord{
		Purpose: convert.ConsentPurposeIn(req.GetPurpose()), Granted: false,
		Channel: convert.ChannelIn(req.GetChannel()), Evidence: req.GetEvidence(),
	})
	return reply(r, err, func(r domain.ConsentRecord) *ledgerv1.WithdrawConsentResponse {
		return &ledgerv1.WithdrawConsentResponse{Consent: convert.ConsentRecord(r)}
	})
}

func (s *MemberServer) ListConsents(ctx context.Context, req *ledgerv1.ListConsentsRequest) (*ledgerv1.ListConsentsResponse, error) {
	rs, err := s.app.Queries.ListConsents.Handle(ctx, req.GetMemberId())
	return reply(rs, err, convert.ConsentRecords)
}

// membersStatus maps the members' errors; nil for any other.
func membersStatus(err error) error {
	var (
		taken *domain.IdentifierTakenError
		field *domain.FieldError
	)
	switch {
	case errors.As(err, &taken):
		return status.Errorf(codes.AlreadyExists, "the %s identifier belongs to another member", taken.Kind)
	case errors.As(err, &field):
		return grpcx.InvalidField(field.Field, field.Err.Error())
	case errors.Is(err, domain.ErrIdentifierNotFound):
		return status.Error(codes.NotFound, "no member holds the identifier")
	case errors.Is(err, domain.ErrPurchaseNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, domain.ErrAlreadyClaimed):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, domain.ErrClaimWindowClosed):
		return grpcx.FailedPrecondition(ReasonClaimWindowClosed, "the purchase is older than the claim window")
	}
	return nil
}
