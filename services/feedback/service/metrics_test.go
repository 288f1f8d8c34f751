package service_test

import (
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
)

// TestBusinessCounters: feedback counts the cases it opened once their batch committed
// (a response delivered again under a new event id opens no second case and counts
// none), the cases resolved by outcome, and the cases overdue as a gauge. Not parallel:
// the counters are process-wide.
func TestBusinessCounters(t *testing.T) {
	m := testkit.CaptureMetrics()
	resolved := attribute.String("outcome", "contacted_resolved")
	openedBefore := m.Sum(t, "treue.feedback.cases.opened")
	resolvedBefore := m.Sum(t, "treue.feedback.cases.resolved", resolved)
	e := start(t)

	late := e.submit(3, submittedAgo(72*time.Hour)) // a callback due 48h after: overdue
	e.submit(10)                                    // a referral request
	e.submit(7)                                     // a passive: no case
	twice := e.submit(2)
	e.publish(twice) // the same response under a new event id
	last := e.submit(0)
	e.waitCase(last.GetResponseId())
	c := e.waitCase(late.GetResponseId())

	if n := m.Sum(t, "treue.feedback.cases.opened") - openedBefore; n != 4 {
		t.Errorf("cases opened counted %d, want 4", n)
	}
	if n := m.Sum(t, "treue.feedback.cases.overdue"); n != 1 {
		t.Errorf("cases overdue %d, want 1", n)
	}
	for range 2 { // the second is refused: resolved already
		_, _ = e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{
			CaseId: c.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
		})
	}
	if n := m.Sum(t, "treue.feedback.cases.resolved", resolved) - resolvedBefore; n != 1 {
		t.Errorf("cases resolved counted %d, want 1", n)
	}
	if n := m.Sum(t, "treue.feedback.cases.overdue"); n != 0 {
		t.Errorf("cases overdue %d after the resolution, want 0", n)
	}
}
