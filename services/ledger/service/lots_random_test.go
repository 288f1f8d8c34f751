package service_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/service"
)

// TestLotInvariantsUnderRandomOperations drives random purchases, returns (in the window,
// after it, after spending), holds captured and voided and moves of the clock (so that
// points mature and expire while all this goes on), and checks every invariant along the
// way and at the end.
func TestLotInvariantsUnderRandomOperations(t *testing.T) {
	clock := &testClock{}
	opts := func(c *service.Config) {
		withLots(clock, 14*day, "months:1")(c)
		c.Lots.ExpiryNotice = 7 * day
	}
	e := started(t, opts)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	members := []string{e.enroll("R0"), e.enroll("R1"), e.enroll("R2")}
	type sale struct {
		tx, member string
		total      int64
	}
	var sales []sale
	c := e.ledger("service")
	ctx := testkit.Ctx(t)
	for i := range 90 {
		switch op := rng.IntN(10); {
		case op < 4 || len(sales) == 0:
			s := sale{tx: fmt.Sprintf("T%d", i), member: members[rng.IntN(len(members))], total: int64(500 + rng.IntN(10000))}
			sales = append(sales, s)
			e.WaitHandled(service.ConsumerPOS, e.publishPurchase(purchase("S1", s.tx, s.member, s.total)))
		case op < 6:
			s := sales[rng.IntN(len(sales))]
			e.WaitHandled(service.ConsumerPOS, e.publishReturn(posReturn("S1", fmt.Sprintf("R%d", i), s.tx, s.member, 1+rng.Int64N(s.total))))
		case op < 9:
			m := members[rng.IntN(len(members))]
			h, err := c.PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: fmt.Sprintf("random-hold-%d", i), MemberId: m, Points: 1 + rng.Int64N(60)})
			if err != nil {
				continue // not enough available: part of the run
			}
			if rng.IntN(2) == 0 {
				_, err = c.CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: h.GetHold().GetHoldId()})
			} else {
				_, err = c.VoidHold(ctx, &ledgerv1.VoidHoldRequest{HoldId: h.GetHold().GetHoldId(), Reason: "random"})
			}
			if err != nil {
				t.Fatal(err)
			}
		default:
			clock.Advance(time.Duration(rng.IntN(12)) * day)
			time.Sleep(150 * time.Millisecond) // the jobs run meanwhile
		}
		if i%30 == 29 {
			checkInvariants(t, e)
		}
	}
	clock.Advance(60 * day) // everything matures, then expires
	testkit.Eventually(t, 20*time.Second, "every lot to mature and expire", func() bool {
		return e.db.Count(`SELECT count(*) FROM lots WHERE remaining > 0`) == 0
	})
	checkInvariants(t, e)
	for what, q := range map[string]string{
		"maturations":  `SELECT count(*) FROM transactions WHERE kind = 'mature'`,
		"expiries":     `SELECT count(*) FROM transactions WHERE reason = 'expiry'`,
		"return debts": `SELECT count(*) FROM transactions WHERE kind = 'debit' AND reason = 'return'`,
		"captures":     `SELECT count(*) FROM holds WHERE status = 'captured'`,
	} {
		if e.db.Count(q) == 0 {
			t.Logf("the run made no %s", what)
		}
	}
}
