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
	if got := testkit.EventTypes(c.Produces); !slices.Equal(got, []string{"treue.feedback.v1.CaseOpened", "treue.feedback.v1.CaseResolved"}) {
		t.Errorf("produces %v", got)
	}
	if got := testkit.EventTypes(c.Consumes); !slices.Equal(got, []string{
		// The webhooks' consumers take the service's own events, responses and erasures a second time.
		"treue.feedback.v1.CaseOpened", "treue.feedback.v1.CaseResolved",
		"treue.ledger.v1.MemberErased", "treue.ledger.v1.MemberErased", "treue.survey.v1.ResponseSubmitted", "treue.survey.v1.ResponseSubmitted",
	}) {
		t.Errorf("consumes %v", got)
	}
}
