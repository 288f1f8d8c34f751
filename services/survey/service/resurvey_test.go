package service_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/service"
)

const resurveyID = "0192f0c8-5a1e-7000-8000-000000000004"

// TestResurveyAfterAResolvedCase: a resolved case invites its member to "Did we solve
// your problem?" an hour later, by email then webhook, keyed by the case, although the
// member was invited moments before (the rule is exempt from the frequency cap); the
// cap still holds for other rules, and consent still counts.
func TestResurveyAfterAResolvedCase(t *testing.T) {
	t.Parallel()
	e := start(t)
	member, noConsent := uuid.NewString(), uuid.NewString()
	e.enroll(member, "de", true)
	e.enroll(noConsent, "en", false)

	// Invited after a contact: the frequency cap now holds the member.
	first := e.record(&surveyv1.RecordTouchpointRequest{MemberId: member})
	if first.GetOutcome() != "SCHEDULED" {
		t.Fatalf("first contact: %v", first)
	}
	caseID := uuid.NewString()
	resolvedAt := time.Now().Truncate(time.Second)
	e.WaitHandled(service.ConsumerCases, e.publish(uuid.NewString(), &feedbackv1.CaseOpened{
		CaseId: caseID, MemberId: member, Score: 2, OpenedAt: timestamppb.New(resolvedAt.Add(-time.Hour)),
	}))
	resolved := &feedbackv1.CaseResolved{CaseId: caseID, MemberId: member, OpenedAt: timestamppb.New(resolvedAt.Add(-time.Hour)),
		ResolvedAt: timestamppb.New(resolvedAt)}
	e.WaitHandled(service.ConsumerCases, e.publish(uuid.NewString(), resolved), e.publish(uuid.NewString(), resolved))

	inv := testkit.WaitEvent(e.Env, subject[*surveyv1.InvitationCreated](), func(ev *surveyv1.InvitationCreated) bool {
		return ev.GetMemberId() == member && ev.GetTouchpoint() == commonv1.Touchpoint_TOUCHPOINT_CASE_RESOLVED
	})
	if inv.GetSurveyId() != resurveyID || inv.GetTouchpointKey() != "case:"+caseID || inv.GetTriggerId() != "0192f0c8-5a1e-7000-8000-0000000000a2" {
		t.Errorf("re-survey invitation %v", inv)
	}
	if due := inv.GetDueAt().AsTime(); !due.Equal(resolvedAt.Add(time.Hour)) {
		t.Errorf("due at %v, want an hour after the resolution (%v)", due, resolvedAt.Add(time.Hour))
	}
	if n := e.db.Count(`SELECT count(*) FROM invitations WHERE trigger_key = $1 AND channels = '{EMAIL,WEBHOOK}'`, "case:"+caseID); n != 1 {
		t.Errorf("%d invitations of the case by email then webhook, want 1 (the resolution delivered twice is one touchpoint)", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM suppressions WHERE member_id = $1 AND reason = 'FREQUENCY_CAP'`, member); n != 0 {
		t.Errorf("the re-survey was held by the frequency cap")
	}

	// Other rules stay capped.
	if got := e.record(&surveyv1.RecordTouchpointRequest{MemberId: member, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SALES_CALL}).GetOutcome(); got != "SUPPRESSED_FREQUENCY_CAP" {
		t.Errorf("a contact after the re-survey: %q", got)
	}
	// Consent still counts.
	other := uuid.NewString()
	e.WaitHandled(service.ConsumerCases, e.publish(uuid.NewString(), &feedbackv1.CaseResolved{CaseId: other, MemberId: noConsent,
		OpenedAt: timestamppb.New(resolvedAt.Add(-time.Hour)), ResolvedAt: timestamppb.New(resolvedAt)}))
	e.suppressedFor(noConsent, surveyv1.SuppressionReason_SUPPRESSION_REASON_NO_CONSENT)
}

// TestExemptFromFrequencyCapIsPartOfTheRule: the flag is kept, returned and changed like
// every setting of a rule; the seeded re-survey rule has it.
func TestExemptFromFrequencyCapIsPartOfTheRule(t *testing.T) {
	t.Parallel()
	e := start(t)
	s := spec("follow-up", commonv1.Touchpoint_TOUCHPOINT_CASE_RESOLVED)
	s.ExemptFromFrequencyCap = true
	r := e.createRule(s)
	got, err := e.rules().GetTriggerRule(testkit.Ctx(t), &surveyv1.GetTriggerRuleRequest{TriggerId: r.GetTriggerId()})
	if err != nil || !got.GetRule().GetSpec().GetExemptFromFrequencyCap() {
		t.Fatalf("stored rule %v, %v", got, err)
	}
	s.ExemptFromFrequencyCap = false
	updated, err := e.rules().UpdateTriggerRule(testkit.Ctx(t), &surveyv1.UpdateTriggerRuleRequest{TriggerId: r.GetTriggerId(), Spec: s})
	if err != nil || updated.GetRule().GetSpec().GetExemptFromFrequencyCap() || updated.GetRule().GetVersion() != 2 {
		t.Errorf("updated rule %v, %v", updated, err)
	}
	seeded, err := e.rules().GetTriggerRule(testkit.Ctx(t), &surveyv1.GetTriggerRuleRequest{TriggerId: "0192f0c8-5a1e-7000-8000-0000000000a2"})
	if err != nil || !seeded.GetRule().GetSpec().GetExemptFromFrequencyCap() || seeded.GetRule().GetSpec().GetPriority() != 100 ||
		seeded.GetRule().GetSpec().GetSurveyId() != resurveyID || seeded.GetRule().GetSpec().GetDelay().AsDuration() != time.Hour {
		t.Errorf("seeded rule %v, %v", seeded, err)
	}
}
