package service_test

import (
	"slices"
	"testing"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/services/survey/service"
)

func TestContract(t *testing.T) {
	t.Parallel()
	c, err := service.Contract()
	if err != nil {
		t.Fatal(err)
	}
	types := func(specs []bus.EventSpec) []string {
		var out []string
		for _, s := range specs {
			out = append(out, string(s.Type))
		}
		slices.Sort(out)
		return out
	}
	if got, want := types(c.Produces), []string{"treue.survey.v1.InvitationCreated", "treue.survey.v1.ResponseSubmitted"}; !slices.Equal(got, want) {
		t.Errorf("produces %v, want %v", got, want)
	}
	want := []string{"treue.ledger.v1.MemberEnrolled", "treue.ledger.v1.MemberErased", "treue.pos.v1.PurchaseRecorded", "treue.touchpoint.v1.ContactRecorded"}
	if got := types(c.Consumes); !slices.Equal(got, want) {
		t.Errorf("consumes %v, want %v", got, want)
	}
}
