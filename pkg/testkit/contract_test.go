package testkit_test

import (
	"slices"
	"testing"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
)

func TestEventTypesAndTypeNamesAreSortedFullNames(t *testing.T) {
	t.Parallel()
	specs := []bus.EventSpec{
		bus.MustSpec(&surveyv1.ResponseSubmitted{}), bus.MustSpec(&ledgerv1.MemberErased{}), bus.MustSpec(&ledgerv1.HoldPlaced{}),
	}
	want := []string{"treue.ledger.v1.HoldPlaced", "treue.ledger.v1.MemberErased", "treue.survey.v1.ResponseSubmitted"}
	if got := testkit.EventTypes(specs); !slices.Equal(got, want) {
		t.Errorf("EventTypes = %v, want %v", got, want)
	}
	if got := testkit.TypeNames(&surveyv1.ResponseSubmitted{}, &ledgerv1.MemberErased{}, &ledgerv1.HoldPlaced{}); !slices.Equal(got, want) {
		t.Errorf("TypeNames = %v, want %v", got, want)
	}
	if got := testkit.EventTypes(nil); len(got) != 0 {
		t.Errorf("EventTypes(nil) = %v", got)
	}
}
