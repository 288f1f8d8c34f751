package service_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	"github.com/treue/treue/pkg/testkit"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
)

// TestGrantGoodwillCoupon: a coupon given free as goodwill needs no ledger (this one is
// unreachable), answers a retry with the same coupon and code, and is refused for an
// inactive or unknown reward and for keys without the role.
func TestGrantGoodwillCoupon(t *testing.T) {
	t.Parallel()
	e := start(t)
	reward := e.reward(t, 400)
	member, caseID := uuid.NewString(), uuid.NewString()
	req := &rewardsv1.GrantGoodwillCouponRequest{IdempotencyKey: "goodwill:" + caseID, MemberId: member,
		RewardId: reward.GetRewardId(), Reason: "sorry for the wait", CaseId: caseID}

	first, err := e.rewards.GrantGoodwillCoupon(e.as(t, "goodwill"), req)
	if err != nil {
		t.Fatal(err)
	}
	r := first.GetRedemption()
	if first.GetCouponCodeStatus() != rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_SHOWN || first.GetCouponCode() == "" ||
		r.GetPoints() != 0 || r.GetHoldId() != "" || r.GetCouponId() == "" || r.GetGoodwillCaseId() != caseID ||
		r.GetStatus() != rewardsv1.RedemptionStatus_REDEMPTION_STATUS_COMPLETED || first.GetCouponExpiresAt() == nil {
		t.Fatalf("granted %v", first)
	}
	// The retry: the same coupon, the same code.
	again, err := e.rewards.GrantGoodwillCoupon(e.as(t, "goodwill"), req)
	if err != nil || again.GetCouponCode() != first.GetCouponCode() || again.GetRedemption().GetCouponId() != r.GetCouponId() {
		t.Fatalf("retried: %v, %v", again, err)
	}
	valid, err := e.rewards.ValidateCoupon(e.as(t, "admin"), &rewardsv1.ValidateCouponRequest{Code: first.GetCouponCode(), TerminalId: "t-1"})
	if err != nil || !valid.GetValid() || valid.GetValueMinor() != 500 {
		t.Errorf("the code at the till: %v, %v", valid, err)
	}
	// One coupon per case, whoever asks with whatever key: an admin asking again gets it.
	byAdmin, err := e.rewards.GrantGoodwillCoupon(e.as(t, "admin"), &rewardsv1.GrantGoodwillCouponRequest{IdempotencyKey: "admin-retry-" + caseID,
		MemberId: member, RewardId: reward.GetRewardId(), Reason: "sorry for the wait", CaseId: caseID})
	if err != nil || byAdmin.GetRedemption().GetCouponId() != r.GetCouponId() {
		t.Errorf("the case's coupon asked for by an admin: %v, %v; want coupon %s", byAdmin, err, r.GetCouponId())
	}
	// The goodwill key mints coupons and does nothing else: no Redeem of a member's points.
	_, err = e.rewards.Redeem(e.as(t, "goodwill"), &rewardsv1.RedeemRequest{IdempotencyKey: "redeem-" + caseID, MemberId: member, RewardId: reward.GetRewardId()})
	testkit.WantCode(t, err, codes.PermissionDenied)
	// After the retry window the code is no longer shown; the coupon stays.
	if _, err := e.db.Exec(e.as(t, ""), `UPDATE redemptions SET sealed_code = NULL, sealed_code_until = NULL WHERE goodwill_case_id = $1`, caseID); err != nil {
		t.Fatal(err)
	}
	late, err := e.rewards.GrantGoodwillCoupon(e.as(t, "goodwill"), req)
	if err != nil || late.GetCouponCode() != "" || late.GetCouponCodeStatus() != rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_NO_LONGER_SHOWN ||
		late.GetRedemption().GetCouponId() != r.GetCouponId() {
		t.Errorf("after the window: %v, %v", late, err)
	}

	// One coupon.issued, marked with the case; no redemption.completed (no hold).
	var issued []*rewardsv1.CouponIssued
	testkit.Eventually(t, 10*time.Second, "coupon issued", func() bool {
		issued = testkit.Events[*rewardsv1.CouponIssued](e.Env, "rewards.coupon.issued")
		return len(issued) >= 1
	})
	if len(issued) != 1 || issued[0].GetGoodwillCaseId() != caseID || issued[0].GetCouponId() != r.GetCouponId() {
		t.Errorf("coupon issued %v", issued)
	}
	if n := len(testkit.Events[*rewardsv1.RedemptionCompleted](e.Env, "rewards.redemption.completed")); n != 0 {
		t.Errorf("%d redemptions completed", n)
	}

	// Refusals.
	inactive := e.reward(t, 100)
	if _, err := e.db.Exec(e.as(t, ""), `UPDATE rewards SET active = false WHERE reward_id = $1`, inactive.GetRewardId()); err != nil {
		t.Fatal(err)
	}
	other := uuid.NewString()
	_, err = e.rewards.GrantGoodwillCoupon(e.as(t, "goodwill"), &rewardsv1.GrantGoodwillCouponRequest{IdempotencyKey: "goodwill:" + other,
		MemberId: member, RewardId: inactive.GetRewardId(), CaseId: other})
	testkit.WantCode(t, err, codes.FailedPrecondition)
	testkit.WantReason(t, err, "REWARD_INACTIVE")
	_, err = e.rewards.GrantGoodwillCoupon(e.as(t, "goodwill"), &rewardsv1.GrantGoodwillCouponRequest{IdempotencyKey: "goodwill:" + other,
		MemberId: member, RewardId: uuid.NewString(), CaseId: other})
	testkit.WantCode(t, err, codes.NotFound)
	for _, role := range []string{"pos", "marketing", "service_agent", "service"} {
		_, err = e.rewards.GrantGoodwillCoupon(e.as(t, role), req)
		testkit.WantCode(t, err, codes.PermissionDenied)
	}
}
