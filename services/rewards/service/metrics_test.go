package service_test

import (
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"

	"github.com/treue/treue/pkg/testkit"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
)

// TestBusinessCounters: rewards counts a coupon used once, and each refused use by its
// reason. Not parallel: the counters are process-wide. (Redemptions completed and
// cancelled need a ledger: scripts/e2e counts them.)
func TestBusinessCounters(t *testing.T) {
	m := testkit.CaptureMetrics()
	const refused = "treue.rewards.coupons.refused"
	reason := func(r string) attribute.KeyValue { return attribute.String("reason", r) }
	before := map[string]int64{
		"redeemed":         m.Sum(t, "treue.rewards.coupons.redeemed"),
		"already_redeemed": m.Sum(t, refused, reason("already_redeemed")),
		"not_found":        m.Sum(t, refused, reason("not_found")),
	}
	e := start(t)
	_, code := e.completed(t, uuid.NewString())
	till := e.as(t, "pos")
	for range 3 { // used once, then refused twice
		_, _ = e.rewards.RedeemCoupon(till, &rewardsv1.RedeemCouponRequest{Code: code.Display(), TerminalId: "till-1", StoreId: "berlin-01"})
	}
	_, err := e.rewards.RedeemCoupon(till, &rewardsv1.RedeemCouponRequest{Code: "NOSUCHCODE", TerminalId: "till-1", StoreId: "berlin-01"})
	if err == nil {
		t.Fatal("an unknown code was used")
	}
	want := map[string]int64{"redeemed": 1, "already_redeemed": 2, "not_found": 1}
	got := map[string]int64{
		"redeemed":         m.Sum(t, "treue.rewards.coupons.redeemed"),
		"already_redeemed": m.Sum(t, refused, reason("already_redeemed")),
		"not_found":        m.Sum(t, refused, reason("not_found")),
	}
	for k, w := range want {
		if d := got[k] - before[k]; d != w {
			t.Errorf("%s counted %d, want %d", k, d, w)
		}
	}
}
