package service_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/service"
)

func TestPurchaseCreditedOncePerTransaction(t *testing.T) {
	e := started(t)
	m := e.enroll("Alice")

	// The same event twice (same event id): JetStream or the inbox drops the copy.
	p1 := purchase("S1", "T1", m, 12345)
	e.publishPurchase(p1)
	e.publishPurchase(p1)
	// The same sale published again under a new event id: the purchases table's key
	// (store, transaction) decides.
	dup := e.publishPurchase(purchase("S1", "T1", m, 12345))
	// The same transaction id in another store is another sale.
	other := e.publishPurchase(purchase("S2", "T1", m, 1000))

	e.WaitHandled(service.ConsumerPOS, dup, other)
	e.waitAvailable(m, 123+10)
	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE kind = 'credit'`); n != 2 {
		t.Errorf("%d credit transactions, want 2", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM purchases`); n != 2 {
		t.Errorf("%d purchases recorded, want 2", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM inbox WHERE consumer = $1`, service.ConsumerPOS); n != 3 {
		t.Errorf("%d events handled, want 3 (the re-published event id is dropped)", n)
	}
	var lines string
	if err := e.db.QueryRow(testkit.Ctx(t), `SELECT lines::text FROM purchases WHERE store_id = 'S1' AND transaction_id = 'T1'`).Scan(&lines); err != nil || lines == "[]" {
		t.Errorf("purchase lines %q, %v: want them kept for returns", lines, err)
	}

	testkit.Eventually(t, 10*time.Second, "two points.credited events", func() bool {
		return len(published[*ledgerv1.PointsCredited](e)) == 2
	})
	for _, ev := range published[*ledgerv1.PointsCredited](e) {
		if ev.GetMemberId() != m || ev.GetReason() != ledgerv1.PointsReason_POINTS_REASON_PURCHASE || ev.GetTransactionId() == "" {
			t.Errorf("points.credited %v", ev)
		}
		if ev.GetReference() == "S1/T1" && (ev.GetPoints() != 123 || ev.GetStoreId() != "S1") {
			t.Errorf("points.credited for S1/T1: %v", ev)
		}
	}
}

func TestAnonymousAndUnmatchedPurchases(t *testing.T) {
	e := started(t)
	anonymous := purchase("S1", "A1", "", 5000)
	unknownUUID := purchase("S1", "U1", uuid.NewString(), 7000)
	notAUUID := purchase("S1", "U2", "loyalty-card-0042", 900)
	e.publishPurchase(anonymous)
	e.publishPurchase(unknownUUID)
	handled := e.publishPurchase(notAUUID)
	e.publishPurchase(purchase("S1", "U1", unknownUUID.GetMemberId(), 7000)) // again, new event id
	e.WaitHandled(service.ConsumerPOS, handled)

	testkit.Eventually(t, 10*time.Second, "all purchases recorded", func() bool { return e.db.Count(`SELECT count(*) FROM purchases`) == 3 })
	if n := e.db.Count(`SELECT count(*) FROM transactions`); n != 0 {
		t.Errorf("%d transactions: anonymous and unmatched purchases credit nothing", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM unmatched_purchases`); n != 2 {
		t.Errorf("%d unmatched purchases kept, want 2", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM dead_letters`); n != 0 {
		t.Errorf("%d dead letters: an unmatched purchase is never dead-lettered", n)
	}
	var refs []string
	testkit.Eventually(t, 10*time.Second, "two purchase.unmatched events", func() bool {
		refs = refs[:0]
		for _, ev := range published[*ledgerv1.UnmatchedPurchaseRecorded](e) {
			refs = append(refs, ev.GetMemberRef())
		}
		return len(refs) == 2
	})
	if !(refs[0] == unknownUUID.GetMemberId() && refs[1] == "loyalty-card-0042" || refs[1] == unknownUUID.GetMemberId() && refs[0] == "loyalty-card-0042") {
		t.Errorf("unmatched member refs %v", refs)
	}
}

func TestDecimalPointsRate(t *testing.T) {
	e := started(t, func(c *service.Config) { c.PointsPerUnit = domain.MustRate(3, 2) })
	m := e.enroll("Bea")
	e.publishPurchase(purchase("S1", "T1", m, 1999)) // 19.99 * 1.5 = 29.985
	e.waitAvailable(m, 29)
}
