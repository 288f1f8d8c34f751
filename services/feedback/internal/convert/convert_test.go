package convert

import (
	"testing"

	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	survey "github.com/treue/treue/proto/gen/treue/survey/v1"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// Every value of the contract's enums has its domain counterpart and back.
func TestEnumsRoundTrip(t *testing.T) {
	for n := range feedbackv1.CaseOutcome_name {
		o := feedbackv1.CaseOutcome(n)
		d := domainOf(outcomes, o)
		if n != 0 && domain.CheckOutcome(domain.KindCallback, d) != nil && domain.CheckOutcome(domain.KindReferralRequest, d) != nil {
			t.Errorf("outcome %v (%q) closes no kind of case", o, d)
		}
		if got := outcomes.Proto(d); got != o {
			t.Errorf("outcome %v -> %q -> %v", o, d, got)
		}
	}
	for _, k := range []domain.CaseKind{domain.KindCallback, domain.KindReferralRequest} {
		if kinds.Proto(k) == feedbackv1.CaseKind_CASE_KIND_UNSPECIFIED {
			t.Errorf("kind %s has no proto value", k)
		}
	}
	for _, c := range []domain.NPSClass{domain.NPSDetractor, domain.NPSPassive, domain.NPSPromoter} {
		if classes.Proto(c) == commonv1.NpsClass_NPS_CLASS_UNSPECIFIED {
			t.Errorf("class %s has no proto value", c)
		}
	}
	for n := range commonv1.Touchpoint_name {
		tp := commonv1.Touchpoint(n)
		r := Response(&survey.ResponseSubmitted{Touchpoint: tp, NpsClass: commonv1.NpsClass_NPS_CLASS_PASSIVE})
		if got := touchpoints.Proto(r.Touchpoint); got != tp {
			t.Errorf("touchpoint %v -> %q -> %v", tp, r.Touchpoint, got)
		}
		if r.NPSClass != domain.NPSPassive {
			t.Errorf("nps class = %q", r.NPSClass)
		}
	}
	if domainOf(statuses, statuses.Proto(domain.StatusResolved)) != domain.StatusResolved {
		t.Error("status does not round-trip")
	}
}

func TestHookEventFindsTheMember(t *testing.T) {
	e, err := HookEvent("e1", "feedback.case.acknowledged", &feedbackv1.CaseAcknowledged{
		Transition: &feedbackv1.CaseTransition{CaseId: "c1", MemberId: "m1"},
	})
	if err != nil || e.MemberID != "m1" || e.Subject != "feedback.case.acknowledged" || e.ID != "e1" {
		t.Errorf("hook event %+v, %v", e, err)
	}
	if e, _ := HookEvent("e2", "feedback.case.opened", &feedbackv1.CaseOpened{CaseId: "c2", MemberId: "m2"}); e.MemberID != "m2" {
		t.Errorf("opened: member %q", e.MemberID)
	}
	if e, _ := HookEvent("e3", "feedback.case.opened", &feedbackv1.CaseOpened{CaseId: "c3"}); e.MemberID != "" {
		t.Errorf("anonymous: member %q", e.MemberID)
	}
}
