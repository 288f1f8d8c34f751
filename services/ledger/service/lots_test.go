package service_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/service"
)

const day = 24 * time.Hour

// withLots runs the ledger on clock with a return window, an expiry policy and jobs
// that look every 100ms.
func withLots(clock *testClock, window time.Duration, expiry string) func(*service.Config) {
	return func(c *service.Config) {
		p, err := domain.ParseExpiryPolicy(expiry)
		if err != nil {
			panic(err)
		}
		c.Now = clock.Now
		c.Lots = service.LotsConfig{ReturnWindow: window, Expiry: p, Interval: 100 * time.Millisecond, Batch: 1000}
	}
}

func (e *env) waitBalance(memberID, what string, ok func(*ledgerv1.GetBalanceResponse) bool) *ledgerv1.GetBalanceResponse {
	e.t.Helper()
	var b *ledgerv1.GetBalanceResponse
	testkit.Eventually(e.t, 10*time.Second, what, func() bool {
		b = e.balance(memberID)
		return ok(b)
	})
	return b
}

func (e *env) hold(memberID string, points int64, key string) (string, error) {
	e.t.Helper()
	h, err := e.ledger("service").PlaceHold(testkit.Ctx(e.t), &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-key-" + key, MemberId: memberID, Points: points})
	return h.GetHold().GetHoldId(), err
}

func (e *env) capture(holdID string) {
	e.t.Helper()
	if _, err := e.ledger("service").CaptureHold(testkit.Ctx(e.t), &ledgerv1.CaptureHoldRequest{HoldId: holdID}); err != nil {
		e.t.Fatal(err)
	}
}

// A purchase's points are pending through the return window, not spendable, then
// become available once, however often the job runs and the ledger restarts.
func TestPendingPointsMatureOnce(t *testing.T) {
	clock := &testClock{}
	e := started(t, withLots(clock, 14*day, "never"))
	m := e.enroll("Pia")
	e.publishPurchase(purchase("S1", "T1", m, 5000))
	b := e.waitBalance(m, "50 pending", func(b *ledgerv1.GetBalanceResponse) bool { return b.GetPending() == 50 })
	if b.GetAvailable() != 0 {
		t.Errorf("available %d while the points are pending, want 0", b.GetAvailable())
	}
	if _, err := e.hold(m, 10, "h1"); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a hold on pending points: %v, want FAILED_PRECONDITION", err)
	}
	clock.Advance(13 * day)
	time.Sleep(300 * time.Millisecond) // the job runs a few times: nothing is due yet
	if b := e.balance(m); b.GetPending() != 50 || b.GetAvailable() != 0 {
		t.Fatalf("a day before the window ends: %v", b)
	}
	clock.Advance(day + time.Minute)
	e.waitAvailable(m, 50)
	if b := e.balance(m); b.GetPending() != 0 {
		t.Errorf("pending %d after maturity, want 0", b.GetPending())
	}
	if err := e.cur.Stop(); err != nil {
		t.Fatal(err)
	}
	e.start(withLots(clock, 14*day, "never"))
	time.Sleep(300 * time.Millisecond)
	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE kind = 'mature'`); n != 1 {
		t.Errorf("%d maturations, want 1", n)
	}
	if got := e.balance(m).GetAvailable(); got != 50 {
		t.Errorf("available %d after a restart, want 50", got)
	}
	// The member's history names the maturation, and can be filtered by it.
	page, err := e.ledger("service_agent").ListTransactions(context.Background(), &ledgerv1.ListTransactionsRequest{
		MemberId: m, Reasons: []ledgerv1.PointsReason{ledgerv1.PointsReason_POINTS_REASON_MATURATION}})
	if err != nil {
		t.Fatal(err)
	}
	if txs := page.GetTransactions(); len(txs) != 1 || txs[0].GetKind() != "mature" || txs[0].GetPoints() != 50 ||
		txs[0].GetReason() != ledgerv1.PointsReason_POINTS_REASON_MATURATION {
		t.Errorf("maturations in the history: %v, want the one of 50 points", txs)
	}
	checkInvariants(t, e)
}

// A return inside the window takes the returned points from pending; the rest matures.
func TestReturnInWindowTakesPendingPoints(t *testing.T) {
	clock := &testClock{}
	e := started(t, withLots(clock, 14*day, "months:24"))
	m := e.enroll("Ravi")
	e.publishPurchase(purchase("S1", "T1", m, 10000))
	e.waitBalance(m, "100 pending", func(b *ledgerv1.GetBalanceResponse) bool { return b.GetPending() == 100 })
	e.publishReturn(posReturn("S1", "R1", "T1", m, 4000))
	b := e.waitBalance(m, "60 pending", func(b *ledgerv1.GetBalanceResponse) bool { return b.GetPending() == 60 })
	if b.GetAvailable() != 0 || b.GetDebt() != 0 {
		t.Errorf("after a return in the window: %v, want nothing available and no debt", b)
	}
	ev := testkit.WaitEvent(e.Env, "ledger.points.debited", func(d *ledgerv1.PointsDebited) bool { return d.GetMemberId() == m })
	if ev.GetPoints() != 40 || ev.GetShortfall() != 0 {
		t.Errorf("debited event %v, want 40 points and no shortfall", ev)
	}
	clock.Advance(15 * day)
	e.waitAvailable(m, 60)
	checkInvariants(t, e)
}

// A return after the points were spent leaves the available balance at zero and records
// a debt; the next earnings repay it first (at once and at maturity); a second debt
// flags the member.
func TestReturnAfterSpendingIsADebtRepaidFirst(t *testing.T) {
	clock := &testClock{}
	e := started(t, withLots(clock, 0, "months:24"))
	m := e.enroll("Dora")
	e.publishPurchase(purchase("S1", "T1", m, 10000))
	e.waitAvailable(m, 100)
	h, err := e.hold(m, 90, "spend-1")
	if err != nil {
		t.Fatal(err)
	}
	e.capture(h)
	e.publishReturn(posReturn("S1", "R1", "T1", m, 10000))
	b := e.waitBalance(m, "a debt of 90", func(b *ledgerv1.GetBalanceResponse) bool { return b.GetDebt() == 90 })
	if b.GetAvailable() != 0 || b.GetDebtFlagged() {
		t.Errorf("after the return: %v, want nothing available, not flagged", b)
	}
	e.publishPurchase(purchase("S1", "T2", m, 5000)) // 50 points, all to the debt
	b = e.waitBalance(m, "a debt of 40", func(b *ledgerv1.GetBalanceResponse) bool { return b.GetDebt() == 40 })
	if b.GetAvailable() != 0 {
		t.Errorf("available %d while a debt is repaid, want 0", b.GetAvailable())
	}
	e.publishPurchase(purchase("S1", "T3", m, 6000)) // 60: 40 repay, 20 available
	b = e.waitBalance(m, "the debt repaid", func(b *ledgerv1.GetBalanceResponse) bool { return b.GetDebt() == 0 })
	if b.GetAvailable() != 20 {
		t.Errorf("available %d, want 20", b.GetAvailable())
	}
	// A second debt within the year: spend, return, and the member is flagged.
	h, err = e.hold(m, 20, "spend-2")
	if err != nil {
		t.Fatal(err)
	}
	e.capture(h)
	e.publishReturn(posReturn("S1", "R3", "T3", m, 6000))
	// T3 earned 60 (40 of them repaid the first debt): its return takes back all 60.
	b = e.waitBalance(m, "a second debt", func(b *ledgerv1.GetBalanceResponse) bool { return b.GetDebt() == 60 })
	if !b.GetDebtFlagged() {
		t.Errorf("a member whose debt repeats is not flagged: %v", b)
	}
	checkInvariants(t, e)
	if err := e.cur.Stop(); err != nil {
		t.Fatal(err)
	}

	// With a return window the repayment waits for maturity.
	e.start(withLots(clock, 14*day, "months:24"))
	e.publishPurchase(purchase("S1", "T4", m, 7000))
	e.waitBalance(m, "70 pending", func(b *ledgerv1.GetBalanceResponse) bool { return b.GetPending() == 70 })
	if b := e.balance(m); b.GetDebt() != 60 {
		t.Errorf("pending points repaid the debt before maturity: %v", b)
	}
	clock.Advance(15 * day)
	b = e.waitBalance(m, "repaid at maturity", func(b *ledgerv1.GetBalanceResponse) bool { return b.GetDebt() == 0 })
	if b.GetAvailable() != 10 || b.GetPending() != 0 {
		t.Errorf("after maturity: %v, want 10 available", b)
	}
	checkInvariants(t, e)
}

// Spending burns the soonest-expiring lots first; a void gives the same lots back; a lot
// is announced once before it expires and expires once, what is left of it.
func TestLotsBurnSoonestFirstAndExpireOnce(t *testing.T) {
	clock := &testClock{}
	opts := func(c *service.Config) {
		withLots(clock, 0, "months:1")(c)
		c.Lots.ExpiryNotice = 3 * day
	}
	e := started(t, opts)
	m := e.enroll("Fritz")
	e.publishPurchase(purchase("S1", "TA", m, 2000)) // lot A: 20, expires in a month
	e.waitAvailable(m, 20)
	clock.Advance(10 * day)
	e.publishPurchase(purchase("S1", "TB", m, 5000)) // lot B: 50, ten days later
	e.waitAvailable(m, 70)
	lot := func(tx string) (remaining int64) {
		return e.db.Count(`SELECT l.remaining FROM lots l JOIN purchases p ON p.ledger_tx_id = l.credit_tx WHERE p.transaction_id = $1`, tx)
	}
	h, err := e.hold(m, 30, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := lot("TA"), lot("TB"); a != 0 || b != 40 {
		t.Errorf("a hold of 30 left A %d and B %d, want 0 and 40 (soonest-expiring first)", a, b)
	}
	if _, err := e.ledger("service").VoidHold(testkit.Ctx(t), &ledgerv1.VoidHoldRequest{HoldId: h, Reason: "changed mind"}); err != nil {
		t.Fatal(err)
	}
	if a, b := lot("TA"), lot("TB"); a != 20 || b != 50 {
		t.Errorf("a void left A %d and B %d, want the same lots back: 20 and 50", a, b)
	}
	h, err = e.hold(m, 30, "h2")
	if err != nil {
		t.Fatal(err)
	}
	e.capture(h)
	checkInvariants(t, e)

	// A has nothing left: its expiry passes unannounced and expires nothing.
	clock.Advance(22 * day)
	time.Sleep(300 * time.Millisecond)
	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE reason = 'expiry'`); n != 0 {
		t.Errorf("%d expiries of a spent lot", n)
	}
	// Two days before B expires: announced, once.
	clock.Advance(6 * day)
	soon := testkit.WaitEvent(e.Env, "ledger.points.expiring_soon", func(s *ledgerv1.PointsExpiringSoon) bool { return s.GetMemberId() == m })
	if soon.GetPoints() != 40 {
		t.Errorf("expiring soon: %v, want 40 points", soon)
	}
	clock.Advance(3 * day)
	e.waitAvailable(m, 0)
	ev := testkit.WaitEvent(e.Env, "ledger.points.debited", func(d *ledgerv1.PointsDebited) bool {
		return d.GetMemberId() == m && d.GetReason() == ledgerv1.PointsReason_POINTS_REASON_EXPIRY
	})
	if ev.GetPoints() != 40 {
		t.Errorf("expiry event %v, want 40 points", ev)
	}
	if err := e.cur.Stop(); err != nil {
		t.Fatal(err)
	}
	e.start(opts)
	time.Sleep(300 * time.Millisecond)
	if n := e.db.Count(`SELECT COALESCE(sum(p.amount), 0) FROM postings p WHERE p.destination = 'program:expired'`); n != 40 {
		t.Errorf("%d points expired, want 40 (once)", n)
	}
	var soons int
	for _, s := range published[*ledgerv1.PointsExpiringSoon](e) {
		if s.GetMemberId() == m {
			soons++
		}
	}
	if soons != 1 {
		t.Errorf("%d expiring-soon events, want 1", soons)
	}
	checkInvariants(t, e)
}

// Points held when their lot expires are not given back by a void: they expire then.
func TestVoidAfterTheLotExpiredExpiresItsPoints(t *testing.T) {
	clock := &testClock{}
	e := started(t, withLots(clock, 0, "months:1"))
	m := e.enroll("Vera")
	e.publishPurchase(purchase("S1", "T1", m, 2000))
	e.waitAvailable(m, 20)
	clock.Advance(27 * day) // a few days before the lot expires (months:1 is 28 to 31 days)
	h, err := e.ledger("service").PlaceHold(testkit.Ctx(t), &ledgerv1.PlaceHoldRequest{
		IdempotencyKey: "hold-key-v1", MemberId: m, Points: 15, Ttl: durationpb.New(7 * day)})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * day) // the lot expired; the hold is still open
	e.waitAvailable(m, 0)  // the 5 not held expired
	if _, err := e.ledger("service").VoidHold(testkit.Ctx(t), &ledgerv1.VoidHoldRequest{HoldId: h.GetHold().GetHoldId(), Reason: "late"}); err != nil {
		t.Fatal(err)
	}
	if b := e.balance(m); b.GetAvailable() != 0 || b.GetHeld() != 0 {
		t.Errorf("after the void: %v, want nothing available or held", b)
	}
	if got := e.db.Count(`SELECT COALESCE(sum(amount), 0) FROM postings WHERE destination = 'program:expired'`); got != 20 {
		t.Errorf("%d points expired, want 20", got)
	}
	checkInvariants(t, e)
}
