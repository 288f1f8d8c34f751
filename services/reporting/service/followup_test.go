package service_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	"github.com/treue/treue/services/reporting/internal/ports/events"
)

// loop publishes a case's feedback events and waits until the consumer that takes each
// has applied it: every call is a batch of its own.
type loop struct {
	*harness
	t *testing.T
}

// send publishes events and waits until they are applied; it returns what was sent.
func (l loop) send(events ...proto.Message) []testkit.Sent {
	l.t.Helper()
	var sent []testkit.Sent
	for _, e := range events {
		sent = append(sent, l.Publish(testkit.Subject(e), "", e))
	}
	for i, e := range events {
		l.WaitHandled(consumerOf(e), sent[i])
	}
	return sent
}

// consumerOf is the consumer that takes e: opened and resolved cases go to
// reporting-feedback, what happens in between to reporting-case-loop.
func consumerOf(e proto.Message) string {
	switch e.(type) {
	case *feedbackv1.CaseOpened, *feedbackv1.CaseResolved:
		return events.ConsumerFeedback
	}
	return events.ConsumerCaseLoop
}

func caseOpened(id, team, store string, at, firstContactDue, due time.Time) *feedbackv1.CaseOpened {
	return &feedbackv1.CaseOpened{
		CaseId: id, Kind: feedbackv1.CaseKind_CASE_KIND_CALLBACK, Team: team, MemberId: "m-" + id, StoreId: store,
		Touchpoint: commonv1.Touchpoint_TOUCHPOINT_PURCHASE, OpenedAt: timestamppb.New(at),
		FirstContactDueAt: timestamppb.New(firstContactDue), DueAt: timestamppb.New(due),
	}
}

func caseResolved(id, team string, opened, at time.Time, outcome feedbackv1.CaseOutcome) *feedbackv1.CaseResolved {
	return &feedbackv1.CaseResolved{CaseId: id, Team: team, Outcome: outcome, MemberId: "m-" + id,
		OpenedAt: timestamppb.New(opened), ResolvedAt: timestamppb.New(at)}
}

func transitionOf(id, team string, at time.Time) *feedbackv1.CaseTransition {
	return &feedbackv1.CaseTransition{CaseId: id, Team: team, By: "alice", MemberId: "m-" + id, At: timestamppb.New(at)}
}

func followUp(id string, at time.Time, score int32, satisfied bool, solved string) *feedbackv1.CaseFollowUpReceived {
	return &feedbackv1.CaseFollowUpReceived{CaseId: id, ResponseId: "r-" + id + at.Format(time.RFC3339), MemberId: "m-" + id,
		Score: score, ScoreKind: commonv1.ScoreKind_SCORE_KIND_CSAT, Satisfied: satisfied, Solved: solved,
		Comment: "kept by feedback only", ReceivedAt: timestamppb.New(at)}
}

// TestGetFollowUpStatsFollowsTheLoop publishes the lives of six cases, the events of one
// case in batches out of their order, one event twice past JetStream's duplicate window:
// a case reopened by the customer's "not solved" is open again however late its
// resolution arrives, a merged duplicate is neither open nor resolved, and every figure of
// GetFollowUpStats, overall and per team, is exact. The dashboard's JSON agrees.
func TestGetFollowUpStatsFollowsTheLoop(t *testing.T) {
	t.Parallel()
	h := start(t)
	l := loop{h, t}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	base := today.AddDate(0, 0, -2).Add(9 * time.Hour)
	hr := func(n float64) time.Time { return base.Add(time.Duration(n * float64(time.Hour))) }
	resolvedOK := feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED

	// c1 (care): contacted after 2h (due 4h), resolved at 5h, the customer satisfied and
	// solved; goodwill points and a coupon. Its contact arrives before its opening.
	l.send(&feedbackv1.CaseContacted{Transition: transitionOf("c1", "care", hr(2))})
	l.send(caseOpened("c1", "care", "s1", hr(0), hr(4), hr(48)))
	l.send(caseResolved("c1", "care", hr(0), hr(5), resolvedOK))
	l.send(
		followUp("c1", hr(7), 5, true, "yes"),
		&feedbackv1.GoodwillGranted{GrantId: "c1", CaseId: "c1", MemberId: "m-c1", Points: 150, GrantedBy: "alice", Role: "admin", GrantedAt: timestamppb.New(hr(5)), RewardId: "rw-1"},
		&feedbackv1.GoodwillRewardIssued{CaseId: "c1", MemberId: "m-c1", RewardId: "rw-1", CouponId: "cp-1", ValueMinor: 500, Currency: "EUR",
			ExpiresAt: timestamppb.New(hr(24 * 30)), Emailed: true, IssuedAt: timestamppb.New(hr(5.5))},
	)

	// c2 (care): no contact recorded; reminded, escalated twice; resolved at 9h (its
	// first contact, late against 5h), then the customer said "not solved" and reopened
	// it. The reopening arrives before the resolution: the case stays open, and overdue.
	l.send(caseOpened("c2", "care", "s1", hr(1), hr(5), hr(25)))
	l.send(
		&feedbackv1.CaseReminder{CaseId: "c2", Team: "care", Deadline: "FIRST_CONTACT", DueAt: timestamppb.New(hr(5)), At: timestamppb.New(hr(4))},
		&feedbackv1.CaseEscalated{CaseId: "c2", Team: "care", Level: 1, Deadline: "FIRST_CONTACT", At: timestamppb.New(hr(5))},
	)
	l.send(
		followUp("c2", hr(10), 2, false, "no"),
		&feedbackv1.CaseReopened{Transition: transitionOf("c2", "care", hr(10))},
	)
	l.send(&feedbackv1.CaseEscalated{CaseId: "c2", Team: "care", Level: 2, Deadline: "FIRST_CONTACT", At: timestamppb.New(hr(9))})
	l.send(caseResolved("c2", "care", hr(1), hr(9), resolvedOK))

	// c3 (sales): contacted at 3h, resolved at 4h, reopened by staff at 6h, resolved again
	// at 8h — arriving last resolution first, first resolution last.
	l.send(caseOpened("c3", "sales", "s2", hr(2), hr(6), hr(30)))
	l.send(caseResolved("c3", "sales", hr(2), hr(8), resolvedOK))
	reopened := l.send(&feedbackv1.CaseReopened{Transition: transitionOf("c3", "sales", hr(6))})[0]
	l.send(
		&feedbackv1.CaseContacted{Transition: transitionOf("c3", "sales", hr(3))},
		&feedbackv1.CaseReminder{CaseId: "c3", Team: "sales", Deadline: "RESOLUTION", At: timestamppb.New(hr(7))},
	)
	l.send(caseResolved("c3", "sales", hr(2), hr(4), resolvedOK))
	// The reopening again, past the duplicate window: only the inbox keeps it from
	// counting twice.
	h.shrinkDuplicateWindow(t, bus.MustSpec(&feedbackv1.CaseReopened{}).Stream.Name)
	var again testkit.Sent
	testkit.Eventually(t, 10*time.Second, "JetStream to accept the re-published event", func() bool {
		again = h.Publish(testkit.Subject(&feedbackv1.CaseReopened{}), reopened.ID, &feedbackv1.CaseReopened{Transition: transitionOf("c3", "sales", hr(6))})
		return !again.Duplicate
	})
	h.WaitHandled(events.ConsumerCaseLoop, again)

	// c4 (sales): merged into c3 before anyone worked it.
	l.send(&feedbackv1.CasesMerged{PrimaryCaseId: "c3", DuplicateCaseId: "c4", MemberId: "m-c3", By: "alice", At: timestamppb.New(hr(4))})
	l.send(caseOpened("c4", "sales", "s2", hr(3), hr(7), today.AddDate(0, 0, 2)))

	// c5 (care): open, escalated once, not yet due.
	l.send(caseOpened("c5", "care", "s1", hr(4), hr(8), today.AddDate(0, 0, 2)))
	l.send(&feedbackv1.CaseEscalated{CaseId: "c5", Team: "care", Level: 1, Deadline: "FIRST_CONTACT", At: timestamppb.New(hr(8))})

	// c6 (care): opened 40 days ago, resolved; outside the period.
	old := today.AddDate(0, 0, -40).Add(9 * time.Hour)
	l.send(caseOpened("c6", "care", "s1", old, old.Add(time.Hour), old.Add(24*time.Hour)))
	l.send(caseResolved("c6", "care", old, old.Add(time.Hour), resolvedOK))

	const hour = 3600.0
	care := &reportingv1.FollowUpFigure{
		Team: "care", Opened: 3, Resolved: 1, StillOpen: 2, Overdue: 1, Contacted: 2,
		// first contacts after 2h (c1) and 8h (c2: at its resolution); one in time.
		MedianFirstContactSeconds: 5 * hour, P90FirstContactSeconds: 7.4 * hour, FirstContactWithinDueShare: 0.5,
		MedianResolutionSeconds: 5 * hour, P90ResolutionSeconds: 5 * hour,
		Escalated: 2, EscalationsByLevel: []int64{2, 1, 0}, Reminded: 1, Reopened: 1, Reopenings: 1,
		FollowUpsAnswered: 2, SolvedShare: 0.5, SatisfiedShare: 0.5, FollowUpCsatAnswers: 2, FollowUpCsatAverage: 3.5,
		GoodwillPoints: 150, GoodwillCoupons: 1,
	}
	sales := &reportingv1.FollowUpFigure{
		Team: "sales", Opened: 2, Resolved: 1, Merged: 1, Contacted: 1,
		MedianFirstContactSeconds: hour, P90FirstContactSeconds: hour, FirstContactWithinDueShare: 1,
		// opened at 2h, resolved for good at 8h.
		MedianResolutionSeconds: 6 * hour, P90ResolutionSeconds: 6 * hour,
		EscalationsByLevel: []int64{0, 0, 0}, Reminded: 1, Reopened: 1, Reopenings: 1,
	}
	overall := &reportingv1.FollowUpFigure{
		Opened: 5, Resolved: 2, StillOpen: 2, Overdue: 1, Merged: 1, Contacted: 3,
		// first contacts after 1h, 2h and 8h; resolutions after 5h and 6h.
		MedianFirstContactSeconds: 2 * hour, P90FirstContactSeconds: 6.8 * hour, FirstContactWithinDueShare: 2.0 / 3,
		MedianResolutionSeconds: 5.5 * hour, P90ResolutionSeconds: 5.9 * hour,
		Escalated: 2, EscalationsByLevel: []int64{2, 1, 0}, Reminded: 2, Reopened: 2, Reopenings: 2,
		FollowUpsAnswered: 2, SolvedShare: 0.5, SatisfiedShare: 0.5, FollowUpCsatAnswers: 2, FollowUpCsatAverage: 3.5,
		GoodwillPoints: 150, GoodwillCoupons: 1,
	}
	from, to := timestamppb.New(today.AddDate(0, 0, -2)), timestamppb.New(today)
	// Seconds from percentiles of epochs: equal to the microsecond.
	approx := protocmp.FilterField(&reportingv1.FollowUpFigure{}, "p90_first_contact_seconds", cmp.Comparer(closeEnough))
	approxRes := protocmp.FilterField(&reportingv1.FollowUpFigure{}, "p90_resolution_seconds", cmp.Comparer(closeEnough))
	approxShare := protocmp.FilterField(&reportingv1.FollowUpFigure{}, "first_contact_within_due_share", cmp.Comparer(closeEnough))
	for _, tt := range []struct {
		name string
		req  *reportingv1.GetFollowUpStatsRequest
		want *reportingv1.GetFollowUpStatsResponse
	}{
		{"all teams", &reportingv1.GetFollowUpStatsRequest{From: from, To: to},
			&reportingv1.GetFollowUpStatsResponse{Overall: overall, ByTeam: []*reportingv1.FollowUpFigure{care, sales}, From: from, To: to}},
		{"one team", &reportingv1.GetFollowUpStatsRequest{From: from, To: to, Team: "sales"},
			&reportingv1.GetFollowUpStatsResponse{Overall: withTeam(sales, ""), ByTeam: []*reportingv1.FollowUpFigure{sales}, From: from, To: to}},
		{"one store", &reportingv1.GetFollowUpStatsRequest{From: from, To: to, StoreId: "s1"},
			&reportingv1.GetFollowUpStatsResponse{Overall: withTeam(care, ""), ByTeam: []*reportingv1.FollowUpFigure{care}, From: from, To: to}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.reporting.GetFollowUpStats(testkit.Ctx(t), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform(), approx, approxRes, approxShare); diff != "" {
				t.Errorf("GetFollowUpStats (-want +got):\n%s", diff)
			}
		})
	}

	// The dashboard's JSON: the cases of all time (c2 and c5 open; c1, c3, c6 resolved;
	// the merged c4 neither), the loop of its period's cases.
	_, body, _ := h.get(t, h.httpURL+"/api/summary.json")
	var s summary
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if s.Cases.Open != 2 || s.Cases.Resolved != 3 || s.Cases.Overdue != 1 {
		t.Errorf("cases = %+v, want 2 open (1 overdue), 3 resolved", s.Cases)
	}
	// The default period of both holds c1-c5; the JSON's figures are the API's.
	api, err := h.reporting.GetFollowUpStats(testkit.Ctx(t), &reportingv1.GetFollowUpStatsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	f := s.Cases.FollowUps
	shown := &reportingv1.GetFollowUpStatsResponse{Overall: figureOfJSON(t, f.Overall), From: api.GetFrom(), To: api.GetTo()}
	for _, raw := range f.ByTeam {
		shown.ByTeam = append(shown.ByTeam, figureOfJSON(t, raw))
	}
	if diff := cmp.Diff(overall, api.GetOverall(), protocmp.Transform(), approx, approxRes, approxShare); diff != "" {
		t.Errorf("GetFollowUpStats of the default period (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(api, shown, protocmp.Transform()); diff != "" || f.From != api.GetFrom().AsTime().Format("2006-01-02") {
		t.Errorf("summary.json's follow_ups from %s (-GetFollowUpStats +summary):\n%s", f.From, diff)
	}
	if strings.Contains(body, "m-c1") || strings.Contains(body, "kept by feedback only") {
		t.Error("the summary names a member or a follow-up comment")
	}
}

// figureOfJSON reads a figure of summary.json by the API's field names.
func figureOfJSON(t *testing.T, raw json.RawMessage) *reportingv1.FollowUpFigure {
	t.Helper()
	f := &reportingv1.FollowUpFigure{}
	if err := protojson.Unmarshal(raw, f); err != nil {
		t.Fatalf("summary.json's figure %s: %v", raw, err)
	}
	return f
}

func closeEnough(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

func withTeam(f *reportingv1.FollowUpFigure, team string) *reportingv1.FollowUpFigure {
	c := proto.Clone(f).(*reportingv1.FollowUpFigure)
	c.Team = team
	return c
}

// TestWaitingCaseIsNotOverdue: a case waiting for the customer has its SLA clocks
// paused, so it is not overdue however long ago it was due; when the wait ends, the due
// time the resumed event carries decides again, and a reopening ends a wait too.
func TestWaitingCaseIsNotOverdue(t *testing.T) {
	t.Parallel()
	h := start(t)
	l := loop{h, t}
	now := time.Now().UTC()
	overdue := func() int64 {
		t.Helper()
		got, err := h.reporting.GetFollowUpStats(testkit.Ctx(t), &reportingv1.GetFollowUpStatsRequest{Team: "waits"})
		if err != nil {
			t.Fatal(err)
		}
		return got.GetOverall().GetOverdue()
	}
	opened := now.Add(-6 * time.Hour)
	l.send(caseOpened("w1", "waits", "s1", opened, opened.Add(time.Hour), now.Add(-time.Hour)))
	if n := overdue(); n != 1 {
		t.Fatalf("overdue %d, want the case past its due time", n)
	}
	// Waiting: paused, not overdue. The wait arrives after a later-dated resume of an
	// earlier wait, as batches may deliver them: the latest of each decides.
	resumedEarlier := transitionOf("w1", "waits", now.Add(-3*time.Hour))
	resumedEarlier.DueAt = timestamppb.New(now.Add(-time.Hour))
	l.send(&feedbackv1.CaseWaiting{Transition: transitionOf("w1", "waits", now.Add(-2*time.Hour))})
	l.send(&feedbackv1.CaseResumed{Transition: resumedEarlier})
	if n := overdue(); n != 0 {
		t.Errorf("overdue %d while the case waits for the customer, want 0", n)
	}
	// Resumed with the due time moved by the pause: not yet due.
	resumed := transitionOf("w1", "waits", now.Add(-time.Minute))
	resumed.DueAt = timestamppb.New(now.Add(time.Hour))
	l.send(&feedbackv1.CaseResumed{Transition: resumed})
	if n := overdue(); n != 0 {
		t.Errorf("overdue %d after the resume moved the due time an hour ahead, want 0", n)
	}
	// Another case: waiting, then reopened after being resolved meanwhile is no longer waiting.
	l.send(caseOpened("w2", "waits", "s1", opened, opened.Add(time.Hour), now.Add(-time.Hour)))
	l.send(&feedbackv1.CaseWaiting{Transition: transitionOf("w2", "waits", now.Add(-2*time.Hour))})
	l.send(caseResolved("w2", "waits", opened, now.Add(-90*time.Minute), feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED))
	l.send(&feedbackv1.CaseReopened{Transition: transitionOf("w2", "waits", now.Add(-time.Hour))})
	if n := overdue(); n != 1 {
		t.Errorf("overdue %d, want the reopened case past its due time", n)
	}
	// A case whose contact arrived before its opening (the two consumers are not ordered)
	// is not counted open, nor overdue, until its opening arrives.
	early := transitionOf("w3", "waits", now.Add(-2*time.Hour))
	early.DueAt = timestamppb.New(now.Add(-time.Hour))
	l.send(&feedbackv1.CaseContacted{Transition: early})
	if n := overdue(); n != 1 {
		t.Errorf("overdue %d with a case not yet opened, want 1", n)
	}
}
