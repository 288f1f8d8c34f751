// Package grpcapi serves treue.rewards.v1.RewardsService and the rewards service's part
// of treue.privacy.v1.PrivacyService: it translates requests into use-case calls (with
// package convert) and their results and errors back into responses and statuses.
// Requests arrive validated (protovalidate and no NUL bytes, in pkg/grpcx).
package grpcapi

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/telemetry"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/convert"
	"github.com/treue/treue/services/rewards/internal/domain"
	"github.com/treue/treue/services/rewards/internal/ports/metrics"
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

// Reasons of ResourceExhausted, in the status's ErrorInfo (with the scope and subject
// in its metadata, and a RetryInfo saying when to try again).
const (
	ReasonCouponLockout     = "COUPON_LOCKOUT"
	ReasonCouponRateLimited = "COUPON_RATE_LIMITED"
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
	app *app.Application
}

// New returns the gRPC port of application.
func New(application *app.Application) *Server { return &Server{app: application} }

func (s *Server) ListRewards(ctx context.Context, req *rewardsv1.ListRewardsRequest) (*rewardsv1.ListRewardsResponse, error) {
	rewards, err := s.app.Queries.ListRewards.Handle(ctx, req.GetIncludeInactive())
	if err != nil {
		return nil, toStatus(err)
	}
	return convert.ListRewardsResponse(rewards), nil
}

func (s *Server) CreateReward(ctx context.Context, req *rewardsv1.CreateRewardRequest) (*rewardsv1.CreateRewardResponse, error) {
	cmd, ok := convert.CreateReward(req)
	if !ok {
		return nil, grpcx.InvalidField("kind", "unsupported reward kind")
	}
	r, err := s.app.Commands.CreateReward.Handle(ctx, cmd)
	if err != nil {
		return nil, toStatus(err)
	}
	return &rewardsv1.CreateRewardResponse{Reward: convert.Reward(r)}, nil
}

func (s *Server) Redeem(ctx context.Context, req *rewardsv1.RedeemRequest) (*rewardsv1.RedeemResponse, error) {
	out, err := s.app.Commands.Redeem.Handle(ctx, convert.Redeem(req, grpcx.IdempotencyScope(ctx, req.GetIdempotencyKey())))
	metrics.Redemption(ctx, out)
	if err != nil {
		return nil, toStatus(err)
	}
	return convert.RedeemResponse(out), nil
}

// GrantGoodwillCoupon issues a coupon free, as goodwill on a feedback case.
func (s *Server) GrantGoodwillCoupon(ctx context.Context, req *rewardsv1.GrantGoodwillCouponRequest) (*rewardsv1.RedeemResponse, error) {
	// Scoped by the case, not by the caller: a case gets one coupon whoever asks (the
	// feedback service's key renamed between a lost answer and its retry, or an admin).
	out, err := s.app.Commands.Redeem.GrantGoodwill(ctx, convert.GrantGoodwillCoupon(req, "goodwill-case/"+req.GetCaseId()))
	if err != nil {
		return nil, toStatus(err)
	}
	return convert.RedeemResponse(out), nil
}

// ValidateCoupon answers a till with valid or a reason, not with an error, for codes that
// are unknown, used or expired: the till wants an answer to show.
func (s *Server) ValidateCoupon(ctx context.Context, req *rewardsv1.ValidateCouponRequest) (*rewardsv1.ValidateCouponResponse, error) {
	caller, err := storeScope(ctx, req.GetStoreId())
	if err != nil {
		return nil, err
	}
	c, err := s.app.Queries.ValidateCoupon.Handle(ctx, req.GetCode(), app.CouponAttempt{
		KeyName: caller.Name, StoreID: req.GetStoreId(), TerminalID: req.GetTerminalId()})
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
		return nil, couponStatus(ctx, err)
	}
	return convert.ValidateCouponResponse(c, reason), nil
}

func (s *Server) RedeemCoupon(ctx context.Context, req *rewardsv1.RedeemCouponRequest) (*rewardsv1.RedeemCouponResponse, error) {
	caller, err := storeScope(ctx, req.GetStoreId())
	if err != nil {
		return nil, err
	}
	c, err := s.app.Commands.RedeemCoupon.Handle(ctx, convert.RedeemCoupon(req, caller.Name))
	if err != nil {
		if reason := couponRefusal(err); reason != "" {
			metrics.CouponRefused(ctx, reason)
		}
		return nil, couponStatus(ctx, err)
	}
	metrics.CouponRedeemed(ctx)
	return convert.RedeemCouponResponse(c), nil
}

// couponRefusal is the reason RedeemCoupon refused a use, or "" for a failure.
func couponRefusal(err error) string {
	switch {
	case errors.Is(err, domain.ErrCouponNotFound):
		return metrics.RefusedNotFound
	case errors.Is(err, domain.ErrCouponAlreadyRedeemed):
		return metrics.RefusedAlreadyRedeemed
	case errors.Is(err, domain.ErrCouponExpired):
		return metrics.RefusedExpired
	case errors.Is(err, domain.ErrTooManyAttempts):
		return metrics.RefusedTooManyAttempts
	}
	return ""
}

// storeScope refuses a till's key acting for a store that is not its own: a key of
// berlin-01 cannot use or probe coupons at hamburg-02. Keys of other roles (admin) are
// not bound to stores.
func storeScope(ctx context.Context, store string) (grpcx.Caller, error) {
	caller, _ := grpcx.CallerFrom(ctx)
	if !caller.StoreBound() {
		return caller, nil
	}
	if store == "" {
		return caller, grpcx.InvalidField("store_id", "required for a pos key: the store of the till")
	}
	if !caller.MayActFor(store) {
		telemetry.Refused(ctx, "store_scope")
		return caller, status.Errorf(codes.PermissionDenied, "store_id: key %s may not act for store %q", caller.Name, store)
	}
	return caller, nil
}

// preconditions are the refusals a client acts on by the reason in the status's
// ErrorInfo.
var preconditions = []struct {
	err    error
	reason string
}{
	{domain.ErrInsufficientPoints, ReasonInsufficientPoints},
	{domain.ErrRewardInactive, ReasonRewardInactive},
	{domain.ErrIdempotencyKeyReused, ReasonIdempotencyKeyReused},
	{domain.ErrRedemptionCancelled, ReasonRedemptionCancelled},
	{domain.ErrCouponAlreadyRedeemed, ReasonCouponAlreadyRedeemed},
	{domain.ErrCouponExpired, ReasonCouponExpired},
}

// couponStatus is toStatus for a till's coupon call; a lockout is counted as a security
// refusal, so an operator sees guessing in the refusals' metric as well as in the alert.
func couponStatus(ctx context.Context, err error) error {
	if errors.Is(err, domain.ErrCouponLockedOut) {
		telemetry.Refused(ctx, "coupon_lockout")
	}
	return toStatus(err)
}

// exhausted is ResourceExhausted with a RetryInfo (until when) and an ErrorInfo (why,
// and which budget).
func exhausted(reason string, scope domain.AttemptScope, until time.Time, msg string) error {
	st := status.New(codes.ResourceExhausted, msg)
	wait := time.Until(until)
	if wait < time.Second {
		wait = time.Second
	}
	if d, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: reason, Domain: "treue", Metadata: map[string]string{"scope": scope.Kind, "subject": scope.Subject}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(wait.Round(time.Second))},
	); err == nil {
		st = d
	}
	return st.Err()
}

// toStatus maps the domain's and the application's errors to statuses. Anything else
// is returned as is: the server's interceptor answers a context error with its code, and
// logs the rest and answers Internal without details.
func toStatus(err error) error {
	if errors.Is(err, domain.ErrRewardNotFound) || errors.Is(err, domain.ErrMemberNotFound) ||
		errors.Is(err, domain.ErrCouponNotFound) {
		return status.Error(codes.NotFound, err.Error())
	}
	for _, p := range preconditions {
		if errors.Is(err, p.err) {
			return grpcx.FailedPrecondition(p.reason, "%v", err)
		}
	}
	var locked *domain.LockedOut
	var limited *domain.RateLimited
	switch {
	case errors.As(err, &locked):
		return exhausted(ReasonCouponLockout, locked.Scope, locked.Until, err.Error())
	case errors.As(err, &limited):
		return exhausted(ReasonCouponRateLimited, limited.Scope, limited.Until, err.Error()+"; wait a minute")
	case errors.Is(err, domain.ErrTooManyAttempts):
		return status.Error(codes.ResourceExhausted, err.Error()+"; wait a minute")
	case errors.Is(err, domain.ErrInvalidReward):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, app.ErrLedgerUnavailable):
		return status.Error(codes.Unavailable, "the points ledger did not answer; retry with the same idempotency key")
	}
	return err
}
