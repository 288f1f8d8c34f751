// Package grpcport serves treue.rewards.v1.RewardsService: it translates requests into
// use-case calls and their results and errors back into responses and statuses.
// Requests arrive validated (protovalidate, in pkg/grpcx).
package grpcport

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/grpcx"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// Reasons of FailedPrecondition, in the status's ErrorInfo.
const (
	ReasonInsufficientPoints    = "INSUFFICIENT_POINTS"
	ReasonRewardInactive        = "REWARD_INACTIVE"
	ReasonIdempotencyKeyReused  = "IDEMPOTENCY_KEY_REUSED"
	ReasonRedemptionCancelled   = "REDEMPTION_CANCELLED"
	ReasonCouponAlreadyRedeemed = "COUPON_ALREADY_REDEEMED"
	ReasonCouponExpired         = "COUPON_EXPIRED"
)

// Reasons a ValidateCoupon answer gives for a code that cannot be used.
const (
	InvalidNotFound        = "NOT_FOUND"
	InvalidAlreadyRedeemed = "ALREADY_REDEEMED"
	InvalidExpired         = "EXPIRED"
)

// Server implements rewardsv1.RewardsServiceServer.
type Server struct {
	rewardsv1.UnimplementedRewardsServiceServer
	app app.Application
}

// New returns the gRPC port of application.
func New(application app.Application) *Server { return &Server{app: application} }

func (s *Server) ListRewards(ctx context.Context, req *rewardsv1.ListRewardsRequest) (*rewardsv1.ListRewardsResponse, error) {
	rewards, err := s.app.ListRewards.Handle(ctx, req.GetIncludeInactive())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &rewardsv1.ListRewardsResponse{Rewards: make([]*rewardsv1.Reward, len(rewards))}
	for i, r := range rewards {
		resp.Rewards[i] = toProtoReward(r)
	}
	return resp, nil
}

func (s *Server) CreateReward(ctx context.Context, req *rewardsv1.CreateRewardRequest) (*rewardsv1.CreateRewardResponse, error) {
	kind, ok := toDomainKind(req.GetKind())
	if !ok {
		return nil, grpcx.InvalidField("kind", "unsupported reward kind")
	}
	r, err := s.app.CreateReward.Handle(ctx, app.CreateReward{
		Name:        req.GetName(),
		Kind:        kind,
		PointsPrice: req.GetPointsPrice(),
		ValueMinor:  req.GetValueMinor(),
		Currency:    req.GetCurrency(),
		ValidDays:   int(req.GetValidDays()),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &rewardsv1.CreateRewardResponse{Reward: toProtoReward(r)}, nil
}

func (s *Server) Redeem(ctx context.Context, req *rewardsv1.RedeemRequest) (*rewardsv1.RedeemResponse, error) {
	out, err := s.app.Redeem.Handle(ctx, app.Redeem{
		IdempotencyKey: req.GetIdempotencyKey(),
		MemberID:       req.GetMemberId(),
		RewardID:       req.GetRewardId(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &rewardsv1.RedeemResponse{Redemption: toProtoRedemption(out.Redemption)}
	switch {
	case out.Code != "":
		resp.CouponCode = out.Code.Display()
		resp.CouponCodeStatus = rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_SHOWN
	case out.Redemption.Status == domain.RedemptionCompleted:
		resp.CouponCodeStatus = rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_NO_LONGER_SHOWN
	}
	if !out.Redemption.CouponExpiresAt.IsZero() {
		resp.CouponExpiresAt = timestamppb.New(out.Redemption.CouponExpiresAt)
	}
	return resp, nil
}

// ValidateCoupon answers a till with valid or a reason, not with an error, for codes that
// are unknown, used or expired: the till wants an answer to show.
func (s *Server) ValidateCoupon(ctx context.Context, req *rewardsv1.ValidateCouponRequest) (*rewardsv1.ValidateCouponResponse, error) {
	c, err := s.app.ValidateCoupon.Handle(ctx, req.GetCode(), req.GetTerminalId())
	var reason string
	switch {
	case err == nil:
	case errors.Is(err, domain.ErrCouponNotFound):
		return &rewardsv1.ValidateCouponResponse{Reason: InvalidNotFound}, nil
	case errors.Is(err, domain.ErrCouponAlreadyRedeemed):
		reason = InvalidAlreadyRedeemed
	case errors.Is(err, domain.ErrCouponExpired):
		reason = InvalidExpired
	default:
		return nil, toStatus(err)
	}
	return &rewardsv1.ValidateCouponResponse{
		Valid:      reason == "",
		Reason:     reason,
		RewardName: c.RewardName,
		ValueMinor: c.ValueMinor,
		Currency:   c.Currency,
		ExpiresAt:  timestamppb.New(c.ExpiresAt),
	}, nil
}

func (s *Server) RedeemCoupon(ctx context.Context, req *rewardsv1.RedeemCouponRequest) (*rewardsv1.RedeemCouponResponse, error) {
	c, err := s.app.RedeemCoupon.Handle(ctx, app.RedeemCoupon{
		Code:       req.GetCode(),
		TerminalID: req.GetTerminalId(),
		StoreID:    req.GetStoreId(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &rewardsv1.RedeemCouponResponse{
		CouponId:   c.ID,
		ValueMinor: c.ValueMinor,
		Currency:   c.Currency,
		RedeemedAt: timestamppb.New(c.RedeemedAt),
	}, nil
}

// toStatus maps the domain's and the application's errors to statuses. Anything else
// is returned as is: the server's interceptor logs it and answers Internal without
// details.
func toStatus(err error) error {
	switch {
	case errors.Is(err, domain.ErrRewardNotFound), errors.Is(err, domain.ErrMemberNotFound),
		errors.Is(err, domain.ErrCouponNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, domain.ErrInsufficientPoints):
		return grpcx.FailedPrecondition(ReasonInsufficientPoints, "%v", err)
	case errors.Is(err, domain.ErrRewardInactive):
		return grpcx.FailedPrecondition(ReasonRewardInactive, "%v", err)
	case errors.Is(err, domain.ErrIdempotencyKeyReused):
		return grpcx.FailedPrecondition(ReasonIdempotencyKeyReused, "%v", err)
	case errors.Is(err, domain.ErrRedemptionCancelled):
		return grpcx.FailedPrecondition(ReasonRedemptionCancelled, "%v", err)
	case errors.Is(err, domain.ErrCouponAlreadyRedeemed):
		return grpcx.FailedPrecondition(ReasonCouponAlreadyRedeemed, "%v", err)
	case errors.Is(err, domain.ErrCouponExpired):
		return grpcx.FailedPrecondition(ReasonCouponExpired, "%v", err)
	case errors.Is(err, domain.ErrTooManyAttempts):
		return status.Error(codes.ResourceExhausted, err.Error()+"; wait a minute")
	case errors.Is(err, domain.ErrInvalidReward):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, app.ErrLedgerUnavailable):
		return status.Error(codes.Unavailable, "the points ledger did not answer; retry with the same idempotency key")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return err
}

func toProtoReward(r domain.Reward) *rewardsv1.Reward {
	return &rewardsv1.Reward{
		RewardId:    r.ID,
		Name:        r.Name,
		Kind:        toProtoKind(r.Kind),
		PointsPrice: r.PointsPrice,
		ValueMinor:  r.ValueMinor,
		Currency:    r.Currency,
		Active:      r.Active,
		ValidDays:   int32(r.ValidDays),
	}
}

func toProtoKind(k domain.RewardKind) rewardsv1.RewardKind {
	if k == domain.KindCoupon {
		return rewardsv1.RewardKind_REWARD_KIND_COUPON
	}
	return rewardsv1.RewardKind_REWARD_KIND_UNSPECIFIED
}

func toDomainKind(k rewardsv1.RewardKind) (domain.RewardKind, bool) {
	if k == rewardsv1.RewardKind_REWARD_KIND_COUPON {
		return domain.KindCoupon, true
	}
	return "", false
}

func toProtoRedemption(r domain.Redemption) *rewardsv1.Redemption {
	return &rewardsv1.Redemption{
		RedemptionId: r.ID,
		MemberId:     r.MemberID,
		RewardId:     r.RewardID,
		Points:       r.Points,
		Status:       toProtoStatus(r.Status),
		HoldId:       r.HoldID,
		CouponId:     r.CouponID,
		CreatedAt:    timestamppb.New(r.CreatedAt),
	}
}

func toProtoStatus(s domain.RedemptionStatus) rewardsv1.RedemptionStatus {
	switch s {
	case domain.RedemptionRequested:
		return rewardsv1.RedemptionStatus_REDEMPTION_STATUS_REQUESTED
	case domain.RedemptionCompleted:
		return rewardsv1.RedemptionStatus_REDEMPTION_STATUS_COMPLETED
	case domain.RedemptionCancelled:
		return rewardsv1.RedemptionStatus_REDEMPTION_STATUS_CANCELLED
	}
	return rewardsv1.RedemptionStatus_REDEMPTION_STATUS_UNSPECIFIED
}
