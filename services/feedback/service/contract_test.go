package service_test

import (
	"slices"
	"testing"

	"github.com/treue/treue/pkg/testkit"

	"github.com/treue/treue/services/feedback/service"
)

func TestContract(t *testing.T) {
	c, err := service.Contract()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"treue.feedback.v1.CaseAcknowledged", "treue.feedback.v1.CaseClosed", "treue.feedback.v1.CaseContacted",
		"treue.feedback.v1.CaseEscalated", "treue.feedback.v1.CaseFollowUpReceived", "treue.feedback.v1.CaseNoteAdded", "treue.feedback.v1.CaseOpened",
		"treue.feedback.v1.CaseReassigned", "treue.feedback.v1.CaseReminder", "treue.feedback.v1.CaseReopened",
		"treue.feedback.v1.CaseResolved", "treue.feedback.v1.CaseResumed", "treue.feedback.v1.CaseWaiting",
		"treue.feedback.v1.CasesMerged", "treue.feedback.v1.GoodwillGranted", "treue.feedback.v1.GoodwillRewardIssued", "treue.feedback.v1.ResponseTagged",
	}
	if got := testkit.EventTypes(c.Produces); !slices.Equal(got, want) {
		t.Errorf("produces %v", got)
	}
	// The webhooks' consumers take every event the service produces, and responses and
	// erasures a second time; the member copy takes the ledger's member events.
	consumes := append(slices.Clone(want), "treue.ledger.v1.MemberEnrolled", "treue.ledger.v1.MemberEnrolled",
		"treue.ledger.v1.MemberErased", "treue.ledger.v1.MemberErased", "treue.ledger.v1.MemberErased",
		"treue.ledger.v1.MemberTierChanged", "treue.ledger.v1.MemberUpdated", "treue.ledger.v1.MemberUpdated",
		// the customer's points and loyalty events (feedback-points).
		"treue.ledger.v1.PointsCredited", "treue.ledger.v1.PointsDebited", "treue.ledger.v1.MemberTierChanged",
		// the responses for the timeline (feedback-timeline).
		"treue.survey.v1.ResponseSubmitted",
		"treue.survey.v1.ResponseSubmitted", "treue.survey.v1.ResponseSubmitted")
	slices.Sort(consumes)
	if got := testkit.EventTypes(c.Consumes); !slices.Equal(got, consumes) {
		t.Errorf("consumes %v", got)
	}
}
