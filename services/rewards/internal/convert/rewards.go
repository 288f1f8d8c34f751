// Package convert is where the rewards service's generated types meet its domain: the
// gRPC requests and responses, the events it emits and consumes, the ledger's holds,
// in both directions.
package convert

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/enum"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/domain"
)

var (
	rewardKinds = enum.New(map[domain.RewardKind]rewardsv1.RewardKind{
		domain.KindCoupon: rewardsv1.RewardKind_REWARD_KIND_COUPON,
	})
	redemptionStatuses = enum.New(map[domain.RedemptionStatus]rewardsv1.RedemptionStatus{
		domain.StatusRequested: rewardsv1.RedemptionStatus_REDEMPTION_STATUS_REQUESTED,
		domain.StatusCompleted: rewardsv1.RedemptionStatus_REDEMPTION_STATUS_COMPLETED,
		domain.StatusCancelled: rewardsv1.RedemptionStatus_REDEMPTION_STATUS_CANCELLED,
	})
)

// Reward is a catalog entry as the API shows it.
func Reward(r domain.Reward) *rewardsv1.Reward {
	return &rewardsv1.Reward{
		RewardId:    r.ID,
		Name:        r.Name,
		Kind:        rewardKinds.Proto(r.Kind),
		PointsPrice: r.PointsPrice,
		ValueMinor:  r.ValueMinor,
		Currency:    r.Currency,
		Active:      r.Active,
		ValidDays:   int32(r.ValidDays),
	}
}

// ListRewardsResponse is the catalog as the API shows it.
func ListRewardsResponse(rs []domain.Reward) *rewardsv1.ListRewardsResponse {
	out := &rewardsv1.ListRewardsResponse{Rewards: make([]*rewardsv1.Reward, len(rs))}
	for i, r := range rs {
		out.Rewards[i] = Reward(r)
	}
	return out
}

// CreateReward is the command of a request; false when its kind is not one the
// domain knows.
func CreateReward(req *rewardsv1.CreateRewardRequest) (app.CreateReward, bool) {
	kind, ok := rewardKinds.Domain(req.GetKind())
	return app.CreateReward{
		Name:        req.GetName(),
		Kind:        kind,
		PointsPrice: req.GetPointsPrice(),
		ValueMinor:  req.GetValueMinor(),
		Currency:    req.GetCurrency(),
		ValidDays:   int(req.GetValidDays()),
	}, ok
}

// Redeem is the command of a request.
// scopedKey is the caller's idempotency key as stored: scoped to the caller, so that
// another caller's key never finds this caller's redemption.
func Redeem(req *rewardsv1.RedeemRequest, scopedKey string) app.Redeem {
	return app.Redeem{IdempotencyKey: scopedKey, MemberID: req.GetMemberId(), RewardID: req.GetRewardId()}
}

// GrantGoodwillCoupon is the command of a GrantGoodwillCoupon call under its caller's
// scoped idempotency key.
func GrantGoodwillCoupon(req *rewardsv1.GrantGoodwillCouponRequest, scopedKey string) app.GrantGoodwillCoupon {
	return app.GrantGoodwillCoupon{IdempotencyKey: scopedKey, MemberID: req.GetMemberId(), RewardID: req.GetRewardId(),
		Reason: req.GetReason(), CaseID: req.GetCaseId()}
}

// RedeemResponse says what a Redeem did, with the code when it may be shown.
func RedeemResponse(out app.Redeemed) *rewardsv1.RedeemResponse {
	resp := &rewardsv1.RedeemResponse{Redemption: Redemption(out.Redemption)}
	switch {
	case out.Code != "":
		resp.CouponCode = out.Code.Display()
		resp.CouponCodeStatus = rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_SHOWN
	case out.Redemption.Status == domain.StatusCompleted:
		resp.CouponCodeStatus = rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_NO_LONGER_SHOWN
	}
	if !out.Redemption.CouponExpiresAt.IsZero() {
		resp.CouponExpiresAt = timestamppb.New(out.Redemption.CouponExpiresAt)
	}
	return resp
}

// Redemption is a redemption as the API shows it.
func Redemption(r domain.Redemption) *rewardsv1.Redemption {
	return &rewardsv1.Redemption{
		RedemptionId:   r.ID,
		MemberId:       r.MemberID,
		RewardId:       r.RewardID,
		Points:         r.Points,
		Status:         redemptionStatuses.Proto(r.Status),
		HoldId:         r.HoldID,
		CouponId:       r.CouponID,
		CreatedAt:      timestamppb.New(r.CreatedAt),
		GoodwillCaseId: r.GoodwillCaseID,
	}
}

// ValidateCouponResponse answers a till about coupon c: valid when reason is empty.
func ValidateCouponResponse(c domain.Coupon, reason string) *rewardsv1.ValidateCouponResponse {
	return &rewardsv1.ValidateCouponResponse{
		Valid:      reason == "",
		Reason:     reason,
		RewardName: c.RewardName,
		ValueMinor: c.ValueMinor,
		Currency:   c.Currency,
		ExpiresAt:  timestamppb.New(c.ExpiresAt),
	}
}

// RedeemCoupon is the command of a request.
func RedeemCoupon(req *rewardsv1.RedeemCouponRequest, keyName string) app.RedeemCoupon {
	return app.RedeemCoupon{Code: req.GetCode(), TerminalID: req.GetTerminalId(), StoreID: req.GetStoreId(), KeyName: keyName}
}

// RedeemCouponResponse tells a till the coupon it used.
func RedeemCouponResponse(c domain.Coupon) *rewardsv1.RedeemCouponResponse {
	return &rewardsv1.RedeemCouponResponse{
		CouponId:   c.ID,
		ValueMinor: c.ValueMinor,
		Currency:   c.Currency,
		RedeemedAt: timestamppb.New(c.RedeemedAt),
	}
}
