package service_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/ledger/service"
)

// TestBusinessCounters: the ledger's counters count what was booked once it committed:
// a sale published twice counts once, a refused one not at all, a batch that crashed
// before its ack and was redelivered once. Not parallel: the counters are process-wide.
func TestBusinessCounters(t *testing.T) {
	m := testkit.CaptureMetrics()
	byPurchase := attribute.String("reason", "purchase")
	before := map[string]int64{
		"purchases": m.Sum(t, "treue.ledger.purchases.booked"),
		"returns":   m.Sum(t, "treue.ledger.returns.booked"),
		"issued":    m.Sum(t, "treue.ledger.points.issued", byPurchase),
		"bonus":     m.Sum(t, "treue.ledger.points.issued", attribute.String("reason", "survey_bonus")),
		"returned":  m.Sum(t, "treue.ledger.points.returned"),
		"redeemed":  m.Sum(t, "treue.ledger.points.redeemed"),
	}
	delta := func(key, name string, attrs ...attribute.KeyValue) int64 {
		return m.Sum(t, name, attrs...) - before[key]
	}

	e := newEnv(t)
	e.start()
	ctx := testkit.Ctx(t)
	a := e.enroll("Mona")

	p := purchase("S1", "T1", a, 10000) // 100 points
	e.publishPurchase(p)
	e.publishPurchase(p)                              // the same event again: the inbox skips it
	e.publishPurchase(purchase("S1", "T1", a, 10000)) // the same sale under a new id: booked before
	e.publishPurchase(purchase("S1", "T2", "", 500))  // anonymous: booked, earns nothing
	bad := purchase("S1", "T3", a, 10000)
	bad.Currency = "JPY" // refused: the programme takes euros and francs
	last := e.publishPurchase(bad)
	e.WaitHandled(service.ConsumerPOS, last)
	e.waitAvailable(a, 100)

	r := e.publishReturn(posReturn("S1", "R1", "T1", a, 2000)) // 20 points back
	e.WaitHandled(service.ConsumerPOS, r)
	e.waitAvailable(a, 80)

	h, err := e.ledger("service").PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-mona-1", MemberId: a, Points: 30})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a retried capture captures once
		if _, err := e.ledger("service").CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: h.GetHold().GetHoldId()}); err != nil {
			t.Fatal(err)
		}
	}
	h2, err := e.ledger("service").PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-mona-2", MemberId: a, Points: 5})
	if err != nil {
		t.Fatal(err)
	}
	done := &rewardsv1.RedemptionCompleted{RedemptionId: uuid.NewString(), MemberId: a, HoldId: h2.GetHold().GetHoldId(), Points: 5, CompletedAt: timestamppb.Now()}
	e.send(uuid.NewString(), done)
	e.WaitHandled(service.ConsumerRewards, e.send(uuid.NewString(), done)) // captured once

	e.WaitHandled(service.ConsumerSurvey, e.send(uuid.NewString(), response(uuid.NewString(), a)))

	want := map[string]int64{"purchases": 2, "returns": 1, "issued": 100, "bonus": 50, "returned": 20, "redeemed": 35}
	got := map[string]int64{
		"purchases": delta("purchases", "treue.ledger.purchases.booked"),
		"returns":   delta("returns", "treue.ledger.returns.booked"),
		"issued":    delta("issued", "treue.ledger.points.issued", byPurchase),
		"bonus":     delta("bonus", "treue.ledger.points.issued", attribute.String("reason", "survey_bonus")),
		"returned":  delta("returned", "treue.ledger.points.returned"),
		"redeemed":  delta("redeemed", "treue.ledger.points.redeemed"),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s counted %d, want %d", k, got[k], w)
		}
	}

	// A batch committed and then redelivered (a crash before the ack) counts once.
	if err := e.cur.Stop(); err != nil {
		t.Fatal(err)
	}
	crashed := e.start(func(c *service.Config) {
		c.Base.Hooks.AckWait = time.Second
		c.Base.Hooks.BeforeAck = func(consumer string, msgs []*bus.Message) error {
			if consumer == service.ConsumerPOS {
				return errors.New("crash")
			}
			return nil
		}
	})
	again := purchase("S1", "T4", a, 1000)
	e.publishPurchase(again)
	select {
	case <-crashed.Done():
		if err := crashed.Stop(); err == nil || !strings.Contains(err.Error(), "simulated crash") {
			t.Fatalf("ledger stopped with %v, want the simulated crash", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the ledger did not crash")
	}
	e.start(func(c *service.Config) { c.Base.Hooks.AckWait = time.Second })
	next := e.publishPurchase(purchase("S1", "T5", a, 1000))
	e.WaitHandled(service.ConsumerPOS, next)
	e.waitAvailable(a, 80-35+50+10+10)
	if n := delta("purchases", "treue.ledger.purchases.booked"); n != 4 {
		t.Errorf("purchases counted %d after the redelivery, want 4", n)
	}
	// The crashed instance counted T4 when it committed; the redelivery counted nothing.
	if n := delta("issued", "treue.ledger.points.issued", byPurchase); n != 120 {
		t.Errorf("points issued %d after the redelivery, want 120", n)
	}
}
