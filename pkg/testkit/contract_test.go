package testkit_test

import (
	"slices"
	"testing"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
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

// A keyed event goes out on its type's subject and its key token, as its producer sends
// it; an unkeyed one on its type's subject.
func TestPublishEventOnTheContractsSubject(t *testing.T) {
	t.Parallel()
	e := testkit.NewEnv(t)
	purchase := &posv1.PurchaseRecorded{EventId: "e-1", StoreId: "store-7", TransactionId: "T-1"}
	spec := bus.MustSpec(purchase)
	if got, want := testkit.Subject(purchase), spec.Subject+".store-7"; got != want {
		t.Errorf("Subject of a purchase = %q, want %q", got, want)
	}
	if got, want := testkit.Subject(&ledgerv1.MemberErased{}), bus.MustSpec(&ledgerv1.MemberErased{}).Subject; got != want {
		t.Errorf("Subject of an erasure = %q, want %q", got, want)
	}
	if err := bus.EnsureStreams(testkit.Ctx(t), e.JS(), e.NS(), bus.StreamOptions{}, spec.Stream); err != nil {
		t.Fatal(err)
	}
	sent := e.PublishEvent("", purchase)
	got := testkit.Events[*posv1.PurchaseRecorded](e, spec.Subject+".store-7")
	if len(got) != 1 || got[0].GetTransactionId() != "T-1" || sent.ID == "" || sent.Stream != e.NS().Stream(spec.Stream.Name) {
		t.Errorf("published %v as %+v, want the purchase on store-7's subject", got, sent)
	}
}
