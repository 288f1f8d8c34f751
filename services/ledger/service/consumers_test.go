package service_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/ledger/service"
)

func response(responseID, memberID string) *surveyv1.ResponseSubmitted {
	return &surveyv1.ResponseSubmitted{
		ResponseId: responseID, InvitationId: uuid.NewString(), SurveyId: uuid.NewString(), MemberId: memberID,
		StoreId: "S1", Score: 9, SubmittedAt: timestamppb.Now(),
	}
}

func TestSurveyBonusOncePerResponse(t *testing.T) {
	e := started(t)
	m := e.enroll("Nora")
	r := response(uuid.NewString(), m)
	e.send(uuid.NewString(), r)
	e.send(uuid.NewString(), r) // the same response, another event id
	unknown := e.send(uuid.NewString(), response(uuid.NewString(), uuid.NewString()))
	anonymous := e.send(uuid.NewString(), response(uuid.NewString(), ""))
	e.WaitHandled(service.ConsumerSurvey, unknown, anonymous)
	e.waitAvailable(m, 50)

	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE reason = 'survey_bonus'`); n != 1 {
		t.Errorf("%d survey bonuses, want 1", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM dead_letters`); n != 0 {
		t.Errorf("%d dead letters: a response of an unknown member is no error", n)
	}
	testkit.Eventually(t, 10*time.Second, "points.credited (survey bonus)", func() bool {
		evs := published[*ledgerv1.PointsCredited](e)
		return len(evs) == 1 && evs[0].GetReason() == ledgerv1.PointsReason_POINTS_REASON_SURVEY_BONUS &&
			evs[0].GetReference() == r.GetResponseId() && evs[0].GetPoints() == 50
	})
}

func TestRedemptionsCaptureAndVoidHolds(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	m := e.memberWithPoints("Otto", 100)
	hold := func(key string, points int64) string {
		h, err := e.ledger("service").PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: key, MemberId: m, Points: points})
		if err != nil {
			t.Fatal(err)
		}
		return h.GetHold().GetHoldId()
	}
	completed, cancelled := hold("hold-otto-001", 30), hold("hold-otto-002", 20)

	done := &rewardsv1.RedemptionCompleted{RedemptionId: uuid.NewString(), MemberId: m, HoldId: completed, Points: 30, CompletedAt: timestamppb.Now()}
	e.send(uuid.NewString(), done)
	e.send(uuid.NewString(), done) // idempotent
	stop := &rewardsv1.RedemptionCancelled{RedemptionId: uuid.NewString(), MemberId: m, HoldId: cancelled, Points: 20, Reason: "out of stock"}
	e.send(uuid.NewString(), stop)
	e.send(uuid.NewString(), stop)
	noHold := e.send(uuid.NewString(), &rewardsv1.RedemptionCancelled{RedemptionId: uuid.NewString(), HoldId: uuid.NewString()})
	e.WaitHandled(service.ConsumerRewards, noHold)

	testkit.Eventually(t, 10*time.Second, "holds captured and voided", func() bool {
		b := e.balance(m)
		return b.GetAvailable() == 70 && b.GetHeld() == 0
	})
	var captures, voids int64
	captures = e.db.Count(`SELECT count(*) FROM transactions WHERE kind = 'capture'`)
	voids = e.db.Count(`SELECT count(*) FROM transactions WHERE kind = 'void'`)
	if captures != 1 || voids != 1 {
		t.Errorf("%d captures and %d voids, want 1 and 1", captures, voids)
	}
	if n := e.db.Count(`SELECT count(*) FROM dead_letters`); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	var status, reason string
	if err := e.db.QueryRow(ctx, `SELECT status, void_reason FROM holds WHERE id = $1`, cancelled).Scan(&status, &reason); err != nil ||
		status != "voided" || reason != "out of stock" {
		t.Errorf("cancelled redemption's hold is %s (%q), %v", status, reason, err)
	}

	// A completed redemption whose hold was voided cannot be captured: it goes to the dead
	// letters for someone to look at.
	bad := uuid.NewString()
	e.send(bad, &rewardsv1.RedemptionCompleted{RedemptionId: uuid.NewString(), HoldId: cancelled})
	testkit.Eventually(t, 10*time.Second, "the dead letter", func() bool {
		return e.db.Count(`SELECT count(*) FROM dead_letters WHERE event_id = $1`, bad) == 1
	})

	// A burst of completions, captured as one set where they share a batch, with a bad
	// one among them: it alone goes to the dead letters.
	var holds []string
	for i := range 10 {
		holds = append(holds, hold(fmt.Sprintf("hold-otto-1%02d", i), 5))
	}
	bad2 := uuid.NewString()
	for i, id := range holds {
		if i == 5 {
			e.send(bad2, &rewardsv1.RedemptionCompleted{RedemptionId: uuid.NewString(), HoldId: cancelled})
		}
		e.send(uuid.NewString(), &rewardsv1.RedemptionCompleted{RedemptionId: uuid.NewString(), HoldId: id})
	}
	testkit.Eventually(t, 10*time.Second, "the burst captured", func() bool {
		b := e.balance(m)
		return b.GetAvailable() == 20 && b.GetHeld() == 0 && e.db.Count(`SELECT count(*) FROM dead_letters WHERE event_id = $1`, bad2) == 1
	})
	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE kind = 'capture'`); n != 11 {
		t.Errorf("%d captures, want 11", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM holds WHERE id = ANY($1::uuid[]) AND status = 'captured'`, holds); n != 10 {
		t.Errorf("%d of the burst's holds captured, want 10", n)
	}
}

// TestMalformedEventsAreDeadLettered: garbage on a purchase subject lands in the dead
// letters with its error, and the consumer goes on with the next purchase.
func TestMalformedEventsAreDeadLettered(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	m := e.enroll("Paul")
	garbage := uuid.NewString()
	onS1 := testkit.Subject(purchase("S1", "T-garbage", m, 1000))
	e.PublishRaw(testkit.Raw{Subject: onS1, ID: garbage, ContentType: bus.ContentTypeProto,
		Type: string(bus.MustSpec(&posv1.PurchaseRecorded{}).Type), Data: []byte("\xff\xff not a protobuf")})
	invalid := purchase("S1", "T-invalid", m, 1000)
	invalid.Currency = "euro" // breaks the contract's pattern
	e.publishPurchase(invalid)
	good := purchase("S1", "T-good", m, 2500)
	e.WaitHandled(service.ConsumerPOS, e.publishPurchase(good))
	e.waitAvailable(m, 25)

	byEvent := map[string]*adminv1.DeadLetter{}
	for _, d := range e.WaitDeadLetters(e.cur.Service.GRPCAddr(), service.ConsumerPOS, 2) {
		byEvent[d.GetEventId()] = d
	}
	if d := byEvent[garbage]; d == nil || !strings.Contains(d.GetError(), "decode") || d.GetSubject() != onS1 {
		t.Errorf("dead letter of the garbage: %v", d)
	}
	if d := byEvent[invalid.GetEventId()]; d == nil || !strings.Contains(d.GetError(), "currency") {
		t.Errorf("dead letter of the invalid purchase: %v", d)
	}
	if n := e.db.Count(`SELECT count(*) FROM purchases WHERE transaction_id = 'T-invalid'`); n != 0 {
		t.Error("the invalid purchase was recorded")
	}
	// Replaying garbage fails again, and says so.
	if _, err := e.admin().ReplayDeadLetter(ctx, &adminv1.ReplayDeadLetterRequest{Id: byEvent[garbage].GetId()}); err == nil {
		t.Error("replaying garbage succeeded")
	}
}

// TestReplayDeadLetterAfterTheCauseIsFixed: a purchase fails until its retries are used
// up (here: a constraint an operator added by mistake), is dead-lettered, and once the
// cause is removed the admin API replays it and the points are credited.
func TestReplayDeadLetterAfterTheCauseIsFixed(t *testing.T) {
	e := started(t, func(c *service.Config) {
		c.Base.Hooks.MaxDeliver = 2
		c.Base.Hooks.Backoff = []time.Duration{50 * time.Millisecond}
	})
	ctx := testkit.Ctx(t)
	m := e.enroll("Quinn")
	if _, err := e.db.Exec(ctx, `ALTER TABLE purchases ADD CONSTRAINT no_store_blocked CHECK (store_id <> 'BLOCKED')`); err != nil {
		t.Fatal(err)
	}
	blocked := purchase("BLOCKED", "T1", m, 3000)
	e.publishPurchase(blocked)
	testkit.Eventually(t, 10*time.Second, "the dead letter", func() bool {
		return e.db.Count(`SELECT count(*) FROM dead_letters WHERE event_id = $1`, blocked.GetEventId()) == 1
	})
	list, err := e.admin().ListDeadLetters(ctx, &adminv1.ListDeadLettersRequest{})
	if err != nil || len(list.GetDeadLetters()) != 1 {
		t.Fatalf("ListDeadLetters = %v, %v", list, err)
	}
	dl := list.GetDeadLetters()[0]
	if !strings.Contains(dl.GetError(), "no_store_blocked") || dl.GetDeliveries() != 2 || dl.GetConsumer() != service.ConsumerPOS {
		t.Errorf("dead letter %v", dl)
	}

	if _, err := e.db.Exec(ctx, `ALTER TABLE purchases DROP CONSTRAINT no_store_blocked`); err != nil {
		t.Fatal(err)
	}
	replayed, err := e.admin().ReplayDeadLetter(ctx, &adminv1.ReplayDeadLetterRequest{Id: dl.GetId()})
	if err != nil || replayed.GetDeadLetter().GetReplayedAt() == nil {
		t.Fatalf("replay = %v, %v", replayed, err)
	}
	if got := e.balance(m).GetAvailable(); got != 30 {
		t.Errorf("available %d after the replay, want 30", got)
	}
	// Replaying again changes nothing.
	if _, err := e.admin().ReplayDeadLetter(ctx, &adminv1.ReplayDeadLetterRequest{Id: dl.GetId()}); err != nil {
		t.Errorf("second replay: %v", err)
	}
	if got := e.balance(m).GetAvailable(); got != 30 {
		t.Errorf("available %d after a second replay, want 30", got)
	}
	open, err := e.admin().ListDeadLetters(ctx, &adminv1.ListDeadLettersRequest{})
	if err != nil || len(open.GetDeadLetters()) != 0 {
		t.Errorf("open dead letters after the replay: %v, %v", open, err)
	}
}
