package service_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/services/feedback/service"
)

// withoutHistory is c as listings show it: without the history and notes GetCase adds.
func withoutHistory(c *feedbackv1.Case) *feedbackv1.Case {
	c = proto.Clone(c).(*feedbackv1.Case)
	c.History, c.Notes = nil, nil
	return c
}

// clock is a movable clock for the service's SLA clocks.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// lifeEnv is a running service with its TeamService too.
type lifeEnv struct {
	*env
	teams feedbackv1.TeamServiceClient
}

// startWith starts a service whose configuration change adjusts.
func startWith(t *testing.T, change func(*service.Config)) *lifeEnv {
	t.Helper()
	e := testkit.NewEnv(t, callers...)
	cfg := service.Config{Base: e.Base()}
	cfg.Base.DBMaxConns = 8
	change(&cfg)
	s := testkit.Start(t, service.New, cfg).Service
	conn := e.Conn(s.GRPCAddr(), "")
	return &lifeEnv{env: &env{Env: e, t: t, db: e.DB(service.Schema), client: feedbackv1.NewFeedbackServiceClient(conn)},
		teams: feedbackv1.NewTeamServiceClient(conn)}
}

func eventsOf[M proto.Message](e *env, m M) []M {
	return testkit.Events[M](e.Env, testkit.Subject(m))
}

func historyActions(c *feedbackv1.Case) []string {
	var out []string
	for _, h := range c.GetHistory() {
		out = append(out, h.GetAction())
	}
	return out
}

func TestCaseLifecycleThroughGRPC(t *testing.T) {
	t.Parallel()
	e := start(t)
	r := e.submit(2)
	c := e.waitCase(r.GetResponseId())
	id := c.GetCaseId()
	if c.GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_OPEN || c.GetFirstContactDueAt() == nil ||
		!c.GetFirstContactDueAt().AsTime().Before(c.GetDueAt().AsTime()) {
		t.Fatalf("opened case = %v", c)
	}
	// 24x7 without a team calendar: first contact due 4h (the default) after the answer.
	if got, want := c.GetFirstContactDueAt().AsTime(), r.GetSubmittedAt().AsTime().Add(service.DefaultFirstContactSLA); !got.Equal(want) {
		t.Errorf("first contact due %v, want %v", got, want)
	}

	// Closing an open case is refused with the reason.
	_, err := e.client.CloseCase(as(keyAlice), &feedbackv1.CloseCaseRequest{CaseId: id})
	testkit.WantCode(t, err, codes.FailedPrecondition)
	testkit.WantReason(t, err, "ILLEGAL_TRANSITION")

	step := func(name string, want feedbackv1.CaseStatus, call func() (*feedbackv1.Case, error)) *feedbackv1.Case {
		t.Helper()
		got, err := call()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.GetStatus() != want {
			t.Fatalf("%s: status %v, want %v", name, got.GetStatus(), want)
		}
		return got
	}
	step("acknowledge", feedbackv1.CaseStatus_CASE_STATUS_ACKNOWLEDGED, func() (*feedbackv1.Case, error) {
		resp, err := e.client.AcknowledgeCase(as(keyAlice), &feedbackv1.AcknowledgeCaseRequest{CaseId: id})
		return resp.GetCase(), err
	})
	// Acknowledging twice is illegal.
	_, err = e.client.AcknowledgeCase(as(keyAlice), &feedbackv1.AcknowledgeCaseRequest{CaseId: id})
	testkit.WantReason(t, err, "ILLEGAL_TRANSITION")
	got := step("contact", feedbackv1.CaseStatus_CASE_STATUS_CONTACTED, func() (*feedbackv1.Case, error) {
		resp, err := e.client.RecordContact(as(keyAlice), &feedbackv1.RecordContactRequest{CaseId: id, Note: "called back"})
		return resp.GetCase(), err
	})
	if got.GetContactedAt() == nil || got.GetFirstContactOverdue() {
		t.Errorf("contacted case = %v", got)
	}
	step("wait", feedbackv1.CaseStatus_CASE_STATUS_WAITING, func() (*feedbackv1.Case, error) {
		resp, err := e.client.WaitForCustomer(as(keyAlice), &feedbackv1.WaitForCustomerRequest{CaseId: id, Note: "sends the receipt"})
		return resp.GetCase(), err
	})
	step("resume", feedbackv1.CaseStatus_CASE_STATUS_CONTACTED, func() (*feedbackv1.Case, error) {
		resp, err := e.client.ResumeCase(as(keyAlice), &feedbackv1.ResumeCaseRequest{CaseId: id})
		return resp.GetCase(), err
	})
	if _, err := e.client.AddNote(as(keyBob), &feedbackv1.AddNoteRequest{CaseId: id, Text: "receipt checked"}); err != nil {
		t.Fatal(err)
	}
	got = step("resolve", feedbackv1.CaseStatus_CASE_STATUS_RESOLVED, func() (*feedbackv1.Case, error) {
		resp, err := e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{CaseId: id,
			Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED, RootCause: "DELIVERY", Note: "refunded"})
		return resp.GetCase(), err
	})
	if got.GetRootCause() != "DELIVERY" {
		t.Errorf("root cause = %q", got.GetRootCause())
	}
	step("close", feedbackv1.CaseStatus_CASE_STATUS_CLOSED, func() (*feedbackv1.Case, error) {
		resp, err := e.client.CloseCase(as(keyAlice), &feedbackv1.CloseCaseRequest{CaseId: id})
		return resp.GetCase(), err
	})
	step("reopen", feedbackv1.CaseStatus_CASE_STATUS_OPEN, func() (*feedbackv1.Case, error) {
		resp, err := e.client.ReopenCase(as(keyAdmin), &feedbackv1.ReopenCaseRequest{CaseId: id, Note: "customer called again"})
		return resp.GetCase(), err
	})

	full, err := e.client.GetCase(as(keyAdmin), &feedbackv1.GetCaseRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	wantActions := []string{"open", "acknowledge", "contact", "wait", "resume", "resolve", "close", "reopen"}
	if got := historyActions(full.GetCase()); !slices.Equal(got, wantActions) {
		t.Errorf("history %v, want %v", got, wantActions)
	}
	if h := full.GetCase().GetHistory(); h[1].GetBy() != "alice" || h[7].GetBy() != "root" || h[7].GetNote() != "customer called again" {
		t.Errorf("history records the wrong actor or note: %v", h)
	}
	if n := full.GetCase().GetNotes(); len(n) != 1 || n[0].GetBy() != "bob" || n[0].GetText() != "receipt checked" {
		t.Errorf("notes %v", n)
	}
	if full.GetCase().GetOutcome() != feedbackv1.CaseOutcome_CASE_OUTCOME_UNSPECIFIED || full.GetCase().GetResolvedAt() != nil {
		t.Errorf("reopened case keeps its resolution: %v", full.GetCase())
	}

	// Every transition is an event on its subject.
	wait := func(what string, n func() int) {
		t.Helper()
		testkit.Eventually(t, 10*time.Second, what, func() bool { return n() == 1 })
	}
	wait("acknowledged", func() int { return len(eventsOf(e, &feedbackv1.CaseAcknowledged{})) })
	wait("contacted", func() int { return len(eventsOf(e, &feedbackv1.CaseContacted{})) })
	wait("waiting", func() int { return len(eventsOf(e, &feedbackv1.CaseWaiting{})) })
	wait("resumed", func() int { return len(eventsOf(e, &feedbackv1.CaseResumed{})) })
	wait("closed", func() int { return len(eventsOf(e, &feedbackv1.CaseClosed{})) })
	wait("reopened", func() int { return len(eventsOf(e, &feedbackv1.CaseReopened{})) })
	wait("note", func() int { return len(eventsOf(e, &feedbackv1.CaseNoteAdded{})) })
	wait("resolved", func() int { return len(e.resolved()) })
	ack := eventsOf(e, &feedbackv1.CaseAcknowledged{})[0].GetTransition()
	if ack.GetCaseId() != id || ack.GetBy() != "alice" || ack.GetFromStatus() != feedbackv1.CaseStatus_CASE_STATUS_OPEN ||
		ack.GetToStatus() != feedbackv1.CaseStatus_CASE_STATUS_ACKNOWLEDGED || ack.GetMemberId() != r.GetMemberId() {
		t.Errorf("CaseAcknowledged = %v", ack)
	}
	if res := e.resolved()[0]; res.GetRootCause() != "DELIVERY" || res.GetResolvedBy() != "alice" {
		t.Errorf("CaseResolved = %v", res)
	}

	// Roles: an auditor reads but does not act.
	_, err = e.client.AcknowledgeCase(as(keyAuditor), &feedbackv1.AcknowledgeCaseRequest{CaseId: id})
	testkit.WantCode(t, err, codes.PermissionDenied)
}

func TestMergeDuplicateCases(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := "member-merge"
	first := e.waitCase(e.submit(1, withMember(member)).GetResponseId())
	dup := e.waitCase(e.submit(2, withMember(member)).GetResponseId())
	other := e.waitCase(e.submit(3).GetResponseId())
	if _, err := e.client.AddNote(as(keyAlice), &feedbackv1.AddNoteRequest{CaseId: dup.GetCaseId(), Text: "same complaint"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.MergeCases(as(keyAlice), &feedbackv1.MergeCasesRequest{PrimaryCaseId: first.GetCaseId(), DuplicateCaseId: other.GetCaseId()})
	testkit.WantReason(t, err, "NOT_MERGEABLE")

	resp, err := e.client.MergeCases(as(keyAlice), &feedbackv1.MergeCasesRequest{PrimaryCaseId: first.GetCaseId(), DuplicateCaseId: dup.GetCaseId()})
	if err != nil {
		t.Fatal(err)
	}
	if d := resp.GetDuplicate(); d.GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_CLOSED || d.GetMergedInto() != first.GetCaseId() {
		t.Errorf("duplicate = %v", d)
	}
	p, err := e.client.GetCase(as(keyAlice), &feedbackv1.GetCaseRequest{CaseId: first.GetCaseId()})
	if err != nil {
		t.Fatal(err)
	}
	if n := p.GetCase().GetNotes(); len(n) != 1 || n[0].GetText() != "same complaint" {
		t.Errorf("the duplicate's notes did not move: %v", n)
	}
	if got := historyActions(p.GetCase()); !slices.Equal(got, []string{"open", "merge"}) {
		t.Errorf("primary history %v", got)
	}
	// Merged once: again is illegal, and the duplicate does not reopen.
	_, err = e.client.MergeCases(as(keyAlice), &feedbackv1.MergeCasesRequest{PrimaryCaseId: first.GetCaseId(), DuplicateCaseId: dup.GetCaseId()})
	testkit.WantReason(t, err, "ILLEGAL_TRANSITION")
	_, err = e.client.ReopenCase(as(keyAlice), &feedbackv1.ReopenCaseRequest{CaseId: dup.GetCaseId()})
	testkit.WantReason(t, err, "ILLEGAL_TRANSITION")
	testkit.Eventually(t, 10*time.Second, "CasesMerged", func() bool {
		m := eventsOf(e, &feedbackv1.CasesMerged{})
		return len(m) == 1 && m[0].GetDuplicateCaseId() == dup.GetCaseId() && m[0].GetPrimaryCaseId() == first.GetCaseId()
	})
}

func TestServiceAgentsWorkTheirTeamsOnly(t *testing.T) {
	t.Parallel()
	e := startWith(t, func(c *service.Config) {
		c.Lifecycle.AgentTeams = map[string][]string{"alice": {"customer-service"}, "bob": {"marketing"}}
	})
	cb := e.waitCase(e.submit(2).GetResponseId())   // customer-service
	ref := e.waitCase(e.submit(10).GetResponseId()) // marketing
	if _, err := e.client.AcknowledgeCase(as(keyAlice), &feedbackv1.AcknowledgeCaseRequest{CaseId: cb.GetCaseId()}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.AcknowledgeCase(as(keyBob), &feedbackv1.AcknowledgeCaseRequest{CaseId: cb.GetCaseId()})
	testkit.WantCode(t, err, codes.PermissionDenied)
	_, err = e.client.GetCase(as(keyAlice), &feedbackv1.GetCaseRequest{CaseId: ref.GetCaseId()})
	testkit.WantCode(t, err, codes.PermissionDenied)
	_, err = e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{CaseId: ref.GetCaseId(),
		Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_REFERRAL_GIVEN})
	testkit.WantCode(t, err, codes.PermissionDenied)
	list, err := e.client.ListCases(as(keyBob), &feedbackv1.ListCasesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetCases()) != 1 || list.GetCases()[0].GetCaseId() != ref.GetCaseId() {
		t.Errorf("bob lists %v", list.GetCases())
	}
	_, err = e.client.ListCases(as(keyBob), &feedbackv1.ListCasesRequest{Team: "customer-service"})
	testkit.WantCode(t, err, codes.PermissionDenied)
	// An admin works every team.
	if _, err := e.client.AddNote(as(keyAdmin), &feedbackv1.AddNoteRequest{CaseId: ref.GetCaseId(), Text: "seen"}); err != nil {
		t.Fatal(err)
	}
}

// TestSLASweepRemindsOnceAndEscalates runs an SLA in milliseconds: the service's clock is
// moved past the reminder point and the deadlines; the sweep reminds once and escalates
// level by level, each step an event.
func TestSLASweepRemindsOnceAndEscalates(t *testing.T) {
	t.Parallel()
	start := time.Now().Truncate(time.Second)
	clk := &clock{t: start}
	e := startWith(t, func(c *service.Config) {
		c.Now = clk.Now
		c.Lifecycle = service.LifecycleConfig{FirstContactSLA: time.Hour, ReminderAt: 0.8, EscalationStep: time.Hour,
			SweepInterval: 20 * time.Millisecond}
	})
	r := newResponse(2)
	r.SubmittedAt = nil
	r.SubmittedAt = timestampOf(start)
	e.publish(r)
	c := e.waitCase(r.GetResponseId())
	if got := c.GetFirstContactDueAt().AsTime(); !got.Equal(start.Add(time.Hour)) {
		t.Fatalf("first contact due %v, want %v", got, start.Add(time.Hour))
	}

	clk.Set(start.Add(47 * time.Minute)) // 78%: nothing yet
	time.Sleep(200 * time.Millisecond)
	if n := len(eventsOf(e.env, &feedbackv1.CaseReminder{})); n != 0 {
		t.Fatalf("%d reminders before 80%%", n)
	}
	clk.Set(start.Add(49 * time.Minute))
	testkit.Eventually(t, 10*time.Second, "reminder", func() bool { return len(eventsOf(e.env, &feedbackv1.CaseReminder{})) == 1 })
	clk.Set(start.Add(59 * time.Minute))
	time.Sleep(200 * time.Millisecond)
	if n := len(eventsOf(e.env, &feedbackv1.CaseReminder{})); n != 1 {
		t.Fatalf("%d reminders, want one", n)
	}

	levels := func() []int32 {
		var out []int32
		for _, m := range eventsOf(e.env, &feedbackv1.CaseEscalated{}) {
			out = append(out, m.GetLevel())
		}
		return out
	}
	clk.Set(start.Add(61 * time.Minute)) // first contact missed: level 1
	testkit.Eventually(t, 10*time.Second, "level 1", func() bool { return slices.Equal(levels(), []int32{1}) })
	got, err := e.client.GetCase(as(keyAdmin), &feedbackv1.GetCaseRequest{CaseId: c.GetCaseId()})
	if err != nil {
		t.Fatal(err)
	}
	if !got.GetCase().GetFirstContactOverdue() || !got.GetCase().GetOverdue() || got.GetCase().GetEscalationLevel() != 1 {
		t.Errorf("overdue case = %v", got.GetCase())
	}
	overdue, err := e.client.ListCases(as(keyAdmin), &feedbackv1.ListCasesRequest{Overdue: true, ByDue: true})
	if err != nil || len(overdue.GetCases()) != 1 {
		t.Fatalf("overdue list %v, %v", overdue.GetCases(), err)
	}
	clk.Set(start.Add(2*time.Hour + time.Minute)) // a step later: the team lead
	testkit.Eventually(t, 10*time.Second, "level 2", func() bool { return slices.Equal(levels(), []int32{1, 2}) })
	clk.Set(start.Add(5 * time.Hour)) // and the manager, once
	testkit.Eventually(t, 10*time.Second, "level 3", func() bool { return slices.Equal(levels(), []int32{1, 2, 3}) })
	time.Sleep(200 * time.Millisecond)
	if got := levels(); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Errorf("escalations %v", got)
	}
	if ev := eventsOf(e.env, &feedbackv1.CaseEscalated{})[0]; ev.GetDeadline() != "FIRST_CONTACT" || ev.GetCaseId() != c.GetCaseId() {
		t.Errorf("escalation = %v", ev)
	}
}

func timestampOf(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// TestSweepPagesThroughEveryCase: with one case per page (FEEDBACK_SLA_SWEEP_BATCH=1), a
// sweep pass still reminds every case that is due, page after page on Postgres.
func TestSweepPagesThroughEveryCase(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	e := startWith(t, func(c *service.Config) {
		c.Now = clk.Now
		c.Lifecycle = service.LifecycleConfig{FirstContactSLA: 4 * time.Hour, ReminderAt: 0.8, EscalationStep: 2 * time.Hour,
			SweepInterval: 20 * time.Millisecond, SweepBatch: 1}
	})
	ids := map[string]bool{}
	for range 3 {
		r := newResponse(2)
		r.SubmittedAt = timestamppb.New(clk.Now())
		e.publish(r)
		ids[e.waitCase(r.GetResponseId()).GetCaseId()] = true
	}
	clk.Set(clk.Now().Add(3*time.Hour + 30*time.Minute))
	testkit.Eventually(t, 10*time.Second, "every case reminded", func() bool {
		reminded := map[string]bool{}
		for _, ev := range eventsOf(e.env, &feedbackv1.CaseReminder{}) {
			reminded[ev.GetCaseId()] = true
		}
		for id := range ids {
			if !reminded[id] {
				return false
			}
		}
		return true
	})
}
