package service_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"

	"github.com/treue/treue/services/feedback/internal/ports/events"
	"github.com/treue/treue/services/feedback/service"
)

// TestReferralCodeOnReferralRequests: the ledger's referral code reaches the referral
// request of its member, on the case and on feedback.case.opened; a callback does not
// carry it, and an erased member's code is forgotten for good.
func TestReferralCodeOnReferralRequests(t *testing.T) {
	t.Parallel()
	e := start(t)
	member, other := uuid.NewString(), uuid.NewString()
	enrolled := e.publish(&ledgerv1.MemberEnrolled{MemberId: member, EnrolledAt: timestamppb.Now(), ReferralCode: "7K3Q9XMZ"})
	updated := e.publish(&ledgerv1.MemberUpdated{MemberId: other, UpdatedAt: timestamppb.Now(), ReferralCode: "ABCD2345"})
	e.WaitHandled(events.ConsumerReferralCodes, enrolled, updated)

	promoter := e.submit(10, withMember(member))
	detractor := e.submit(2, withMember(member))
	otherPromoter := e.submit(9, withMember(other))
	ref, cb, otherRef := e.waitCase(promoter.GetResponseId()), e.waitCase(detractor.GetResponseId()), e.waitCase(otherPromoter.GetResponseId())
	if ref.GetKind() != feedbackv1.CaseKind_CASE_KIND_REFERRAL_REQUEST || ref.GetReferralCode() != "7K3Q9XMZ" {
		t.Errorf("referral request %v", ref)
	}
	if cb.GetReferralCode() != "" {
		t.Errorf("a callback carries the referral code %q", cb.GetReferralCode())
	}
	if otherRef.GetReferralCode() != "ABCD2345" {
		t.Errorf("code from MemberUpdated: %q", otherRef.GetReferralCode())
	}
	got, err := e.client.GetCase(as(keyAlice), &feedbackv1.GetCaseRequest{CaseId: ref.GetCaseId()})
	if err != nil || got.GetCase().GetReferralCode() != "7K3Q9XMZ" {
		t.Errorf("GetCase: %v, %v", got.GetCase(), err)
	}
	testkit.Eventually(t, 10*time.Second, "CaseOpened with the code", func() bool {
		for _, ev := range e.opened() {
			if ev.GetCaseId() == ref.GetCaseId() {
				return ev.GetReferralCode() == "7K3Q9XMZ"
			}
		}
		return false
	})

	// Erased: the code goes, and a late MemberUpdated does not bring it back.
	erased := e.publish(&ledgerv1.MemberErased{MemberId: other, ErasedAt: timestamppb.Now()})
	late := e.publish(&ledgerv1.MemberUpdated{MemberId: other, UpdatedAt: timestamppb.Now(), ReferralCode: "ABCD2345"})
	e.WaitHandled(events.ConsumerReferralCodes, erased, late)
	if n := e.db.Count(`SELECT count(*) FROM referral_codes WHERE member_id = $1 AND code <> ''`, other); n != 0 {
		t.Errorf("the erased member's code is still kept")
	}
}

// followUp is the answer to a resolved case's follow-up survey.
func followUp(caseID, member string, csat int32, solved string) *surveyv1.ResponseSubmitted {
	r := newResponse(0, withMember(member))
	r.SurveyId = "0192f0c8-5a1e-7000-8000-000000000004"
	r.Touchpoint = commonv1.Touchpoint_TOUCHPOINT_CASE_RESOLVED
	r.TouchpointKey = "case:" + caseID
	r.ScoreKind, r.Score, r.NpsClass, r.CsatSatisfied = commonv1.ScoreKind_SCORE_KIND_CSAT, csat, commonv1.NpsClass_NPS_CLASS_UNSPECIFIED, csat >= 4
	r.Comment = "thanks"
	r.Answers = []*surveyv1.Answer{{QuestionId: "solved", ChoiceIds: []string{solved}}}
	return r
}

// TestFollowUpLinkedToItsCase: the answer to the survey a resolved case triggered is
// linked to the case, announced, and opens no case, even when it is unhappy; a second
// answer for the same case changes nothing. (TestFollowUpNotSolvedReopensTheCase: what
// the unhappy answer does to the case.)
func TestFollowUpLinkedToItsCase(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := uuid.NewString()
	c := e.waitCase(e.submit(1, withMember(member)).GetResponseId())
	if _, err := e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{
		CaseId: c.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
	}); err != nil {
		t.Fatal(err)
	}
	before := len(e.allCases(&feedbackv1.ListCasesRequest{PageSize: 500}))

	answer := followUp(c.GetCaseId(), member, 2, "no") // unhappy: would open a callback if routed
	e.publish(answer)
	second := e.publish(followUp(c.GetCaseId(), member, 5, "yes"))
	unknown := e.publish(followUp(uuid.NewString(), member, 1, "no"))
	e.WaitHandled(events.ConsumerSurvey, second, unknown)

	got, err := e.client.GetCase(as(keyAlice), &feedbackv1.GetCaseRequest{CaseId: c.GetCaseId()})
	if err != nil {
		t.Fatal(err)
	}
	g := got.GetCase()
	if g.GetFollowUpResponseId() != answer.GetResponseId() || g.GetFollowUpScore() != 2 || g.GetFollowUpSolved() != "no" ||
		g.GetFollowUpScoreKind() != commonv1.ScoreKind_SCORE_KIND_CSAT || g.GetFollowUpReceivedAt() == nil {
		t.Errorf("case with its follow-up: %v", g)
	}
	if after := len(e.allCases(&feedbackv1.ListCasesRequest{PageSize: 500})); after != before {
		t.Errorf("%d cases after the follow-ups, %d before: a follow-up opened a case", after, before)
	}
	listed := e.caseOf(c.GetResponseId())
	if listed.GetFollowUpResponseId() != answer.GetResponseId() {
		t.Errorf("ListCases lacks the follow-up: %v", listed)
	}
	testkit.Eventually(t, 10*time.Second, "one CaseFollowUpReceived", func() bool {
		evs := testkit.Events[*feedbackv1.CaseFollowUpReceived](e.Env, testkit.Subject(&feedbackv1.CaseFollowUpReceived{}))
		return len(evs) == 1 && evs[0].GetCaseId() == c.GetCaseId() && evs[0].GetResponseId() == answer.GetResponseId() &&
			evs[0].GetMemberId() == member && evs[0].GetScore() == 2 && !evs[0].GetSatisfied() && evs[0].GetSolved() == "no" &&
			evs[0].GetComment() == "thanks"
	})
}

// TestFollowUpNotSolvedReopensTheCase: a customer who answers the follow-up survey "not
// solved" puts the case back in the team's queue, with their answer as the note; the
// answer published again changes nothing; resolved again, the case takes the answer to
// the new resolution, and a "solved" answer leaves it resolved.
func TestFollowUpNotSolvedReopensTheCase(t *testing.T) {
	t.Parallel()
	smtp := testkit.StartSMTP(t)
	le := startWith(t, func(c *service.Config) {
		c.Lifecycle = service.LifecycleConfig{SMTPAddr: smtp.Addr(), MailFrom: "Treue <cases@shop.example>"}
	})
	e := le.env
	cs, err := le.teams.GetTeam(as(keyAdmin), &feedbackv1.GetTeamRequest{Team: "customer-service"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := le.teams.AddStaff(as(keyAdmin), &feedbackv1.AddStaffRequest{IdempotencyKey: "add-staff-ann", TeamId: cs.GetTeam().GetTeamId(),
		Name: "Ann", Email: "ann@shop.example", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT}); err != nil {
		t.Fatal(err)
	}
	member := uuid.NewString()
	c := e.waitCase(e.submit(1, withMember(member)).GetResponseId())
	id := c.GetCaseId()
	resolve := func() {
		t.Helper()
		if _, err := e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{
			CaseId: id, Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
		}); err != nil {
			t.Fatal(err)
		}
	}
	get := func() *feedbackv1.Case {
		t.Helper()
		got, err := e.client.GetCase(as(keyAlice), &feedbackv1.GetCaseRequest{CaseId: id})
		if err != nil {
			t.Fatal(err)
		}
		return got.GetCase()
	}
	resolve()

	unsolved := followUp(id, member, 2, "no")
	unsolved.Comment = "Das Paket ist immer noch nicht da."
	e.WaitHandled(events.ConsumerSurvey, e.publish(unsolved))
	g := get()
	h := g.GetHistory()
	if g.GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_OPEN || h[len(h)-1].GetAction() != "reopen" || h[len(h)-1].GetBy() != "customer" ||
		!strings.Contains(h[len(h)-1].GetNote(), "Das Paket ist immer noch nicht da.") || g.GetOutcome() != feedbackv1.CaseOutcome_CASE_OUTCOME_UNSPECIFIED {
		t.Fatalf("after a not-solved answer: status %s, history %v", g.GetStatus(), h)
	}
	// The assignee is told, although the batch that reopened the case opened none.
	smtp.WaitFor(t, func(m testkit.Mail) bool {
		return slices.Contains(m.To, "ann@shop.example") && strings.Contains(m.Subject, "reopened") && strings.Contains(m.Subject, id) &&
			strings.Contains(m.Text, "Das Paket ist immer noch nicht da.")
	}, 10*time.Second)
	testkit.Eventually(t, 10*time.Second, "feedback.case.reopened by the customer", func() bool {
		evs := testkit.Events[*feedbackv1.CaseReopened](e.Env, testkit.Subject(&feedbackv1.CaseReopened{}))
		return len(evs) == 1 && evs[0].GetTransition().GetCaseId() == id && evs[0].GetTransition().GetBy() == "customer"
	})

	// The same answer again, under another event id: no second reopening.
	resolve()
	e.WaitHandled(events.ConsumerSurvey, e.PublishEvent(uuid.NewString(), unsolved))
	if g := get(); g.GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_RESOLVED || g.GetFollowUpResponseId() != unsolved.GetResponseId() {
		t.Fatalf("the answer published again: status %s, follow-up %s", g.GetStatus(), g.GetFollowUpResponseId())
	}

	// The answer to the second resolution: solved; it replaces the first, the case stays resolved.
	solved := followUp(id, member, 5, "yes")
	e.WaitHandled(events.ConsumerSurvey, e.publish(solved))
	if g := get(); g.GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_RESOLVED || g.GetFollowUpResponseId() != solved.GetResponseId() ||
		g.GetFollowUpSolved() != "yes" || g.GetFollowUpScore() != 5 {
		t.Errorf("after the second resolution's answer: status %s, follow-up %s %q %d", g.GetStatus(), g.GetFollowUpResponseId(),
			g.GetFollowUpSolved(), g.GetFollowUpScore())
	}
	if got := historyActions(get()); !slices.Equal(got, []string{"open", "resolve", "reopen", "resolve"}) {
		t.Errorf("history %v", got)
	}
}
