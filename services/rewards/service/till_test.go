package service_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/internal/ports/grpcapi"
)

// A coupon used at a till emits coupon.redeemed once, from the application's event
// written by the store's one conditional statement; a second use is refused and emits
// nothing.
func TestCouponUsedAtTheTillEmitsOneEvent(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := uuid.NewString()
	r, code := e.completed(t, member)
	till := e.as(t, "pos")
	used, err := e.rewards.RedeemCoupon(till, &rewardsv1.RedeemCouponRequest{Code: code.Display(), TerminalId: "till-1", StoreId: "berlin-01"})
	if err != nil {
		t.Fatal(err)
	}
	if used.GetCouponId() != r.CouponID || used.GetValueMinor() != 500 || used.GetCurrency() != "EUR" {
		t.Fatalf("used %v, want coupon %s", used, r.CouponID)
	}
	_, err = e.rewards.RedeemCoupon(till, &rewardsv1.RedeemCouponRequest{Code: code.Display(), TerminalId: "till-2", StoreId: "berlin-02"})
	testkit.WantReason(t, err, grpcapi.ReasonCouponAlreadyRedeemed)
	valid, err := e.rewards.ValidateCoupon(till, &rewardsv1.ValidateCouponRequest{Code: code.Display(), TerminalId: "till-1", StoreId: "s"})
	if err != nil || valid.GetValid() || valid.GetReason() != grpcapi.InvalidAlreadyRedeemed {
		t.Fatalf("validate a used coupon: %v, %v", valid, err)
	}

	testkit.Eventually(t, 10*time.Second, "the outbox to drain", func() bool {
		return e.db.Count(`SELECT count(*) FROM outbox`) == 0
	})
	subject := bus.MustSpec(&rewardsv1.CouponRedeemed{}).Subject
	var mine []*rewardsv1.CouponRedeemed
	for _, ev := range testkit.Events[*rewardsv1.CouponRedeemed](e.Env, subject) {
		if ev.GetCouponId() == r.CouponID {
			mine = append(mine, ev)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("%d coupon.redeemed events for the coupon, want 1", len(mine))
	}
	ev := mine[0]
	if ev.GetMemberId() != member || ev.GetRewardId() != r.RewardID || ev.GetStoreId() != "berlin-01" ||
		ev.GetTerminalId() != "till-1" || ev.GetValueMinor() != 500 || !ev.GetRedeemedAt().AsTime().Equal(used.GetRedeemedAt().AsTime()) {
		t.Fatalf("event %v, want the first use", ev)
	}
}
