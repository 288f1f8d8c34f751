package service_test

import (
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/domain"
)

// TestBusinessCounters: the survey counts an invitation created once, a trigger that
// earns none as suppressed (a parked one only once it is evaluated), and a response by
// kind, class and touchpoint; a response refused (answered already) counts nothing. Not
// parallel: the counters are process-wide.
func TestBusinessCounters(t *testing.T) {
	m := testkit.CaptureMetrics()
	const created, suppressed, received = "treue.survey.invitations.created", "treue.survey.invitations.suppressed", "treue.survey.responses.received"
	promoter := []attribute.KeyValue{attribute.String("kind", "nps"), attribute.String("class", "promoter"), attribute.String("touchpoint", "purchase")}
	capped, noConsentReason := attribute.String("reason", "frequency_cap"), attribute.String("reason", "no_consent")
	before := map[string]int64{
		"created":    m.Sum(t, created),
		"suppressed": m.Sum(t, suppressed),
		"received":   m.Sum(t, received, promoter...),
		"capped":     m.Sum(t, suppressed, capped),
		"no_consent": m.Sum(t, suppressed, noConsentReason),
	}
	delta := func(key, name string, attrs ...attribute.KeyValue) int64 {
		return m.Sum(t, name, attrs...) - before[key]
	}
	e := start(t)

	member, noConsent, late := uuid.NewString(), uuid.NewString(), uuid.NewString()
	e.enroll(member, "en", true)
	e.enroll(noConsent, "en", false)
	first := purchase("S1", member)
	e.buy(first)
	e.buy(purchase("S2", member))    // asked already: suppressed
	e.buy(purchase("S1", noConsent)) // no consent: suppressed
	e.buy(purchase("S1", ""))        // anonymous: no trigger at all
	e.buy(purchase("S1", late))      // unknown member: parked, neither
	if c, s := delta("created", created), delta("suppressed", suppressed); c != 1 || s != 2 {
		t.Errorf("created %d, suppressed %d; want 1 and 2", c, s)
	}
	if c, n := delta("capped", suppressed, capped), delta("no_consent", suppressed, noConsentReason); c != 1 || n != 1 {
		t.Errorf("suppressed by frequency cap %d, for no consent %d; want 1 each", c, n)
	}
	e.enroll(late, "en", true) // its parked trigger earns an invitation now
	if c := delta("created", created); c != 2 {
		t.Errorf("created %d after the enrolment, want 2", c)
	}

	inv := e.invitationFor(member)
	for range 2 { // the second is refused: answered already
		_, _ = e.service.SubmitResponse(testkit.Ctx(t), &surveyv1.SubmitResponseRequest{Token: tokenOf(t, inv.GetUrl()), Score: 10})
	}
	if n := delta("received", received, promoter...); n != 1 {
		t.Errorf("responses received %d, want 1", n)
	}
}

// TestSkippedTouchpointsAreCounted: touchpoints no rule matched, or whose member the
// rule's sample left out, are counted (and not recorded). Not parallel: the counters
// are process-wide.
func TestSkippedTouchpointsAreCounted(t *testing.T) {
	m := testkit.CaptureMetrics()
	const skipped = "treue.survey.triggers.skipped"
	noRule, sampledOut := attribute.String("reason", "no_rule"), attribute.String("reason", "sampled_out")
	noRuleBefore, sampledBefore := m.Sum(t, skipped, noRule), m.Sum(t, skipped, sampledOut)
	e := start(t)
	e.onlyRules()
	s := spec("a tenth of the web visits", commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT)
	s.SamplingRate = 0.1
	rule := e.createRule(s)
	member := uuid.NewString()
	for domain.Sampled(member, rule.GetTriggerId(), 0.1) {
		member = uuid.NewString()
	}
	e.enroll(member, "en", true)
	if got := e.record(&surveyv1.RecordTouchpointRequest{MemberId: member}).GetOutcome(); got != "NO_RULE" {
		t.Errorf("service call: %q, want NO_RULE", got)
	}
	if got := e.record(&surveyv1.RecordTouchpointRequest{MemberId: member, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT}).GetOutcome(); got != "SAMPLED_OUT" {
		t.Errorf("web visit: %q, want SAMPLED_OUT", got)
	}
	if n, s := m.Sum(t, skipped, noRule)-noRuleBefore, m.Sum(t, skipped, sampledOut)-sampledBefore; n != 1 || s != 1 {
		t.Errorf("skipped: %d without a rule, %d sampled out; want 1 each", n, s)
	}
}
