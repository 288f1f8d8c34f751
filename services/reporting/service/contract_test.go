package service_test

import (
	"slices"
	"testing"

	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/services/reporting/service"
)

// The contract is built from the consumers without an application: it must not need one,
// and it lists every event type reporting reads, and none that it emits.
func TestContract(t *testing.T) {
	c, err := service.Contract()
	if err != nil {
		t.Fatal(err)
	}
	consumes := testkit.EventTypes(c.Consumes)
	want := []string{
		"treue.feedback.v1.CaseContacted", "treue.feedback.v1.CaseEscalated", "treue.feedback.v1.CaseFollowUpReceived",
		"treue.feedback.v1.CaseOpened", "treue.feedback.v1.CaseReminder", "treue.feedback.v1.CaseReopened",
		"treue.feedback.v1.CaseResolved", "treue.feedback.v1.CaseResumed", "treue.feedback.v1.CaseWaiting",
		"treue.feedback.v1.CasesMerged", "treue.feedback.v1.GoodwillGranted",
		"treue.feedback.v1.GoodwillRewardIssued", "treue.feedback.v1.ResponseTagged",
		"treue.ledger.v1.HoldCaptured", "treue.ledger.v1.MemberErased", "treue.ledger.v1.PointsCredited", "treue.ledger.v1.PointsDebited",
		"treue.rewards.v1.CouponIssued", "treue.rewards.v1.CouponRedeemed",
		"treue.survey.v1.InvitationCreated", "treue.survey.v1.InvitationDeliveryFailed", "treue.survey.v1.InvitationSent",
		"treue.survey.v1.InvitationSuppressed", "treue.survey.v1.ResponseSubmitted",
	}
	if c.Service != service.Name || len(c.Produces) != 0 || !slices.Equal(consumes, want) {
		t.Errorf("contract of %s produces %v and consumes %v; want nothing produced and %v consumed", c.Service, c.Produces, consumes, want)
	}
}
