package postgres

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// Subjects of the REWARDS stream this service publishes.
const (
	SubjectRedemptionCompleted = "rewards.redemption.completed"
	SubjectRedemptionCancelled = "rewards.redemption.cancelled"
	SubjectCouponIssued        = "rewards.coupon.issued"
	SubjectCouponRedeemed      = "rewards.coupon.redeemed"
)

func redemptionCompletedEvent(r redemptionRow) bus.Event {
	return bus.NewEvent(SubjectRedemptionCompleted, &rewardsv1.RedemptionCompleted{
		RedemptionId: r.ID,
		MemberId:     r.MemberID,
		RewardId:     r.RewardID,
		HoldId:       r.HoldID,
		Points:       r.Points,
		CompletedAt:  timestamppb.New(r.UpdatedAt),
	})
}

func redemptionCancelledEvent(r redemptionRow) bus.Event {
	return bus.NewEvent(SubjectRedemptionCancelled, &rewardsv1.RedemptionCancelled{
		RedemptionId: r.ID,
		MemberId:     r.MemberID,
		RewardId:     r.RewardID,
		HoldId:       r.HoldID,
		Points:       r.Points,
		Reason:       r.CancelReason,
		CancelledAt:  timestamppb.New(r.UpdatedAt),
	})
}

// couponIssuedEvent carries everything about the coupon but its code.
func couponIssuedEvent(r redemptionRow) bus.Event {
	return bus.NewEvent(SubjectCouponIssued, &rewardsv1.CouponIssued{
		CouponId:     r.CouponID,
		RedemptionId: r.ID,
		MemberId:     r.MemberID,
		RewardId:     r.RewardID,
		ValueMinor:   r.ValueMinor,
		Currency:     r.Currency,
		ExpiresAt:    timestamppb.New(r.CouponExpiresAt),
	})
}

func couponRedeemedEvent(c domain.Coupon) bus.Event {
	return bus.NewEvent(SubjectCouponRedeemed, &rewardsv1.CouponRedeemed{
		CouponId:   c.ID,
		MemberId:   c.MemberID,
		RewardId:   c.RewardID,
		StoreId:    c.StoreID,
		TerminalId: c.TerminalID,
		ValueMinor: c.ValueMinor,
		Currency:   c.Currency,
		RedeemedAt: timestamppb.New(c.RedeemedAt),
	})
}
