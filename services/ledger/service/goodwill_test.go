package service_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/service"
)

func grant(caseID, memberID string, points int64) *feedbackv1.GoodwillGranted {
	return &feedbackv1.GoodwillGranted{GrantId: caseID, CaseId: caseID, MemberId: memberID, Points: points,
		GrantedBy: "alice", Role: "service_agent", Reason: "late delivery", GrantedAt: timestamppb.Now()}
}

// TestGoodwillWithinTheBudget: each grant is booked once from program:goodwill, however
// often it is delivered; beyond the month's budget a grant is recorded, announced and
// not booked (no dead letter); an erased member's grant books nothing.
func TestGoodwillWithinTheBudget(t *testing.T) {
	e := started(t, func(c *service.Config) { c.GoodwillBudget = 1000 })
	nora, otto, greta := e.enroll("Nora"), e.enroll("Otto"), e.enroll("Greta")
	if _, err := e.ledger("privacy").EraseMember(testkit.Ctx(t), &ledgerv1.EraseMemberRequest{MemberId: greta, Reason: "asked"}); err != nil {
		t.Fatal(err)
	}
	first, second, over, gone := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	e.send(uuid.NewString(), grant(first, nora, 600))
	e.send(uuid.NewString(), grant(first, nora, 600)) // the same grant again, another event id
	e.send(uuid.NewString(), grant(second, otto, 400))
	overSent := e.send(uuid.NewString(), grant(over, otto, 1))
	goneSent := e.send(uuid.NewString(), grant(gone, greta, 50))
	redelivered := e.send(uuid.NewString(), grant(over, otto, 1))
	e.WaitHandled(service.ConsumerGoodwill, overSent, goneSent, redelivered)
	e.waitAvailable(nora, 600)
	e.waitAvailable(otto, 400)

	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE reason = 'goodwill'`); n != 2 {
		t.Errorf("%d goodwill transactions, want 2", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM transactions t JOIN postings p ON p.transaction_id = t.id
		WHERE t.idempotency_key = 'goodwill:' || $1::text AND p.source = 'program:goodwill' AND p.amount = 600`, first); n != 1 {
		t.Errorf("the grant is not one booking of 600 from program:goodwill keyed goodwill:<case id>")
	}
	if n := e.db.Count(`SELECT balance FROM program_balances WHERE account = 'program:goodwill'`); n != -1000 {
		t.Errorf("program:goodwill = %d, want -1000", n)
	}
	if n := e.db.Count(`SELECT used FROM goodwill_budgets`); n != 1000 {
		t.Errorf("budget used %d, want 1000", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM goodwill_grants WHERE outcome = 'budget_exhausted'`); n != 1 {
		t.Errorf("%d refused grants, want 1", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM goodwill_grants WHERE outcome = 'member_gone'`); n != 1 {
		t.Errorf("%d grants of erased members recorded, want 1", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM dead_letters`); n != 0 {
		t.Errorf("%d dead letters: a grant beyond the budget is a rule, not poison", n)
	}
	testkit.Eventually(t, 10*time.Second, "goodwill refused once", func() bool {
		evs := published[*ledgerv1.GoodwillRefused](e)
		return len(evs) == 1 && evs[0].GetCaseId() == over && evs[0].GetMemberId() == otto && evs[0].GetPoints() == 1 &&
			evs[0].GetReason() == "BUDGET_EXHAUSTED" && evs[0].GetBudgetPoints() == 1000 && evs[0].GetUsedPoints() == 1000
	})
	testkit.Eventually(t, 10*time.Second, "two goodwill credits", func() bool {
		n := 0
		for _, ev := range published[*ledgerv1.PointsCredited](e) {
			if ev.GetReason() == ledgerv1.PointsReason_POINTS_REASON_GOODWILL {
				n++
			}
		}
		return n == 2
	})
	// The member's history names the case.
	txs, err := e.ledger("admin").ListTransactions(testkit.Ctx(t), &ledgerv1.ListTransactionsRequest{MemberId: nora})
	if err != nil {
		t.Fatal(err)
	}
	if len(txs.GetTransactions()) != 1 || txs.GetTransactions()[0].GetReason() != ledgerv1.PointsReason_POINTS_REASON_GOODWILL ||
		txs.GetTransactions()[0].GetReference() != first {
		t.Errorf("history %v", txs.GetTransactions())
	}
	assertInvariants(t, e.db)
}

// TestGoodwillUnlimited: with no budget (0) every grant is booked.
func TestGoodwillUnlimited(t *testing.T) {
	e := started(t)
	m := e.enroll("Ida")
	e.send(uuid.NewString(), grant(uuid.NewString(), m, 100_000))
	e.waitAvailable(m, 100_000)
	if n := e.db.Count(`SELECT count(*) FROM goodwill_grants WHERE outcome = 'booked'`); n != 1 {
		t.Errorf("%d grants booked, want 1", n)
	}
}
