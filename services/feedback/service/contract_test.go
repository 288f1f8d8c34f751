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
	if got := testkit.EventTypes(c.Produces); !slices.Equal(got, []string{"treue.feedback.v1.CaseFollowUpReceived", "treue.feedback.v1.CaseOpened",
		"treue.feedback.v1.CaseResolved", "treue.feedback.v1.GoodwillGranted"}) {
		t.Errorf("produces %v", got)
	}
	if got := testkit.EventTypes(c.Consumes); !slices.Equal(got, []string{"treue.ledger.v1.MemberEnrolled", "treue.ledger.v1.MemberErased",
		"treue.ledger.v1.MemberErased", "treue.ledger.v1.MemberUpdated", "treue.survey.v1.ResponseSubmitted"}) {
		t.Errorf("consumes %v", got)
	}
}
