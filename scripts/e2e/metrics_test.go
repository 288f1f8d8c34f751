package e2e

import (
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/treue/treue/pkg/testkit"
)

// TestRedemptionCounters: a redemption against a real ledger counts once as completed
// with its coupon issued (its retry answers with the same outcome and counts nothing),
// one without the points counts as cancelled for insufficient_points, and the ledger
// counts the points redeemed once it captured the hold. Not parallel: the counters are
// process-wide.
func TestRedemptionCounters(t *testing.T) {
	m := testkit.CaptureMetrics()
	insufficient := attribute.String("reason", "insufficient_points")
	before := map[string]int64{
		"completed": m.Sum(t, "treue.rewards.redemptions.completed"),
		"issued":    m.Sum(t, "treue.rewards.coupons.issued"),
		"cancelled": m.Sum(t, "treue.rewards.redemptions.cancelled", insufficient),
		"redeemed":  m.Sum(t, "treue.ledger.points.redeemed"),
	}
	delta := func(key, name string, attrs ...attribute.KeyValue) int64 {
		return m.Sum(t, name, attrs...) - before[key]
	}
	e := startLedgerAndRewards(t)

	memberID, available := e.member(t, 10000)
	reward := e.reward(t, available)
	for range 2 { // a retry with the same key
		if _, err := e.redeem(t, "counted-1", memberID, reward.GetRewardId()); err != nil {
			t.Fatalf("redeem: %v", err)
		}
	}
	if _, err := e.redeem(t, "counted-2", memberID, reward.GetRewardId()); err == nil {
		t.Fatal("a second redemption without the points succeeded")
	}
	testkit.Eventually(t, 10*time.Second, "the hold captured", func() bool {
		b := e.balance(t, memberID)
		return b.GetAvailable() == 0 && b.GetHeld() == 0
	})
	testkit.Eventually(t, 10*time.Second, "the capture counted", func() bool {
		return delta("redeemed", "treue.ledger.points.redeemed") == available
	})
	want := map[string]int64{"completed": 1, "issued": 1, "cancelled": 1}
	got := map[string]int64{
		"completed": delta("completed", "treue.rewards.redemptions.completed"),
		"issued":    delta("issued", "treue.rewards.coupons.issued"),
		"cancelled": delta("cancelled", "treue.rewards.redemptions.cancelled", insufficient),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s counted %d, want %d", k, got[k], w)
		}
	}
}
