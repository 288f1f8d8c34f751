package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/services/ledger/service"
)

type returnRow struct {
	points, debited, shortfall int64
	orphan                     bool
}

func (e *env) returnRow(store, returnID string) returnRow {
	e.t.Helper()
	var r returnRow
	err := e.db.QueryRow(testkit.Ctx(e.t), `SELECT points, debited, shortfall, orphan FROM returns WHERE store_id = $1 AND return_id = $2`,
		store, returnID).Scan(&r.points, &r.debited, &r.shortfall, &r.orphan)
	if err != nil {
		e.t.Fatalf("return %s/%s: %v", store, returnID, err)
	}
	return r
}

func TestReturnsAreCappedAndOncePerReturn(t *testing.T) {
	e := started(t)
	m := e.enroll("Dora")
	e.publishPurchase(purchase("S1", "T1", m, 10000)) // 100 points
	e.publishPurchase(purchase("S1", "T2", m, 5000))  // 50 points
	e.waitAvailable(m, 150)

	// 30 of T1, then the same return again under another event id.
	r1 := posReturn("S1", "R1", "T1", "", 3000)
	e.publishReturn(r1)
	e.publishReturn(posReturn("S1", "R1", "T1", "", 3000))
	e.waitAvailable(m, 120)
	// The rest of T1 is 70 points: a return of 90 units takes back 70, not 90.
	r2 := posReturn("S1", "R2", "T1", m, 9000)
	e.publishReturn(r2)
	e.waitAvailable(m, 50)
	// T1 is fully returned: nothing more to take back from it.
	r3 := posReturn("S1", "R3", "T1", m, 1000)
	e.WaitHandled(service.ConsumerPOS, e.publishReturn(r3))

	if got := e.balance(m).GetAvailable(); got != 50 {
		t.Errorf("available %d, want 50 (T2's points)", got)
	}
	if got := e.returnRow("S1", "R2"); got != (returnRow{points: 70, debited: 70}) {
		t.Errorf("R2 booked %+v, want capped at 70", got)
	}
	if got := e.returnRow("S1", "R3"); got.points != 0 {
		t.Errorf("R3 booked %+v, want nothing left to take", got)
	}
	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE kind = 'debit'`); n != 2 {
		t.Errorf("%d debits, want 2", n)
	}
	if n := e.db.Count(`SELECT points_returned FROM purchases WHERE store_id = 'S1' AND transaction_id = 'T1'`); n != 100 {
		t.Errorf("T1 points_returned %d, want 100", n)
	}
}

func TestReturnNeverTakesAMemberBelowZero(t *testing.T) {
	e := started(t)
	m := e.memberWithPoints("Emil", 100)
	// The member spends 80 of the 100 points (a hold that is captured).
	ctx := testkit.Ctx(t)
	h, err := e.ledger("service").PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-emil-1", MemberId: m, Points: 80})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ledger("service").CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: h.GetHold().GetHoldId()}); err != nil {
		t.Fatal(err)
	}
	// Then returns everything: 100 points are called for, 20 are left.
	r := posReturn("S1", "R1", "T1", m, 10000)
	e.WaitHandled(service.ConsumerPOS, e.publishReturn(r))

	if b := e.balance(m); b.GetAvailable() != 0 || b.GetHeld() != 0 {
		t.Errorf("balance %v, want 0 available, 0 held", b)
	}
	if got := e.returnRow("S1", "R1"); got != (returnRow{points: 100, debited: 20, shortfall: 80}) {
		t.Errorf("return booked %+v, want 20 debited and 80 short", got)
	}
	var debited *ledgerv1.PointsDebited
	testkit.Eventually(t, 10*time.Second, "points.debited", func() bool {
		evs := published[*ledgerv1.PointsDebited](e)
		if len(evs) == 1 {
			debited = evs[0]
		}
		return debited != nil
	})
	if debited.GetPoints() != 20 || debited.GetShortfall() != 80 || debited.GetReason() != ledgerv1.PointsReason_POINTS_REASON_RETURN ||
		debited.GetMemberId() != m || debited.GetReference() != "S1/R1" {
		t.Errorf("points.debited %v", debited)
	}
}

// A return published before its purchase (events of different subjects are not
// ordered) waits for it with back-off.
func TestReturnBeforeItsPurchase(t *testing.T) {
	e := started(t, func(c *service.Config) { c.Base.Hooks.Backoff = []time.Duration{time.Second} })
	m := e.enroll("Fritz")
	r := e.publishReturn(posReturn("S1", "R1", "T1", m, 4000))
	// Wait until the ledger has tried the return once and put it back.
	cons, err := e.JS().Consumer(testkit.Ctx(t), e.stream(&posv1.ReturnRecorded{}), e.NS().Consumer(service.ConsumerPOS))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the return to be put back", func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.NumRedelivered+info.NumAckPending > 0 && info.Delivered.Consumer >= 1
	})
	if n := e.db.Count(`SELECT count(*) FROM returns`); n != 0 {
		t.Fatalf("the return was booked before its purchase came")
	}
	e.publishPurchase(purchase("S1", "T1", m, 10000))
	e.WaitHandled(service.ConsumerPOS, r)
	e.waitAvailable(m, 60)
	if got := e.returnRow("S1", "R1"); got != (returnRow{points: 40, debited: 40}) {
		t.Errorf("return booked %+v, want 40 taken back from its purchase", got)
	}
}

// A return whose purchase never comes is booked from its own amount after three
// deliveries; a purchase that comes after all keeps the cap.
func TestReturnWhosePurchaseNeverCame(t *testing.T) {
	e := started(t)
	m := e.enroll("Gina")
	e.publishPurchase(purchase("S1", "T-other", m, 10000))
	e.waitAvailable(m, 100)

	r := posReturn("S1", "R1", "T-missing", m, 3000)
	e.WaitHandled(service.ConsumerPOS, e.publishReturn(r))
	if got := e.returnRow("S1", "R1"); got != (returnRow{points: 30, debited: 30, orphan: true}) {
		t.Errorf("return booked %+v, want 30 from its own amount", got)
	}
	e.waitAvailable(m, 70)

	// The purchase turns up after all: 50 points, 30 of them already returned.
	e.publishPurchase(purchase("S1", "T-missing", m, 5000))
	e.waitAvailable(m, 120)
	r2 := posReturn("S1", "R2", "T-missing", m, 5000)
	e.WaitHandled(service.ConsumerPOS, e.publishReturn(r2))
	if got := e.returnRow("S1", "R2"); got.points != 20 {
		t.Errorf("second return booked %+v, want capped at the 20 points left", got)
	}
	e.waitAvailable(m, 100)

	// A return naming nobody the ledger knows books nothing, and is not dead-lettered.
	r3 := posReturn("S1", "R3", "T-nobody", uuid.NewString(), 3000)
	e.WaitHandled(service.ConsumerPOS, e.publishReturn(r3))
	if got := e.returnRow("S1", "R3"); got != (returnRow{orphan: true}) {
		t.Errorf("return of an unknown member booked %+v", got)
	}
}
