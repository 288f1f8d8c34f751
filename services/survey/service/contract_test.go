package service_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/services/survey/service"
)

// Subjects come from the contract, never from a literal.

// subjectOf is the subject a producer publishes msg on, from the contract; a touchpoint
// contact's last token is its kind, taken from its touchpoint.
func subjectOf(msg proto.Message) string {
	if c, ok := msg.(*touchpointv1.ContactRecorded); ok {
		return bus.MustSpec(msg).Subject + "." + strings.ToLower(strings.TrimPrefix(c.GetTouchpoint().String(), "TOUCHPOINT_"))
	}
	return testkit.Subject(msg)
}

// subject is the subject of the events of type M.
func subject[M proto.Message]() string {
	var m M
	return bus.MustSpec(m).Subject
}

// publish sends msg on its subject as its producer does.
func (e *env) publish(id string, msg proto.Message) testkit.Sent {
	e.t.Helper()
	return e.Publish(subjectOf(msg), id, msg)
}

func TestContract(t *testing.T) {
	t.Parallel()
	c, err := service.Contract()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := testkit.EventTypes(c.Produces), []string{"treue.survey.v1.InvitationCreated", "treue.survey.v1.InvitationDeliveryFailed", "treue.survey.v1.InvitationSent", "treue.survey.v1.InvitationSuppressed", "treue.survey.v1.MemberUnsubscribed", "treue.survey.v1.ResponseSubmitted"}; !slices.Equal(got, want) {
		t.Errorf("produces %v, want %v", got, want)
	}
	want := []string{"treue.feedback.v1.CaseOpened", "treue.feedback.v1.CaseResolved",
		"treue.ledger.v1.MemberConsentChanged", "treue.ledger.v1.MemberEnrolled", "treue.ledger.v1.MemberErased",
		"treue.ledger.v1.MemberTierChanged", "treue.ledger.v1.MemberUpdated", "treue.ledger.v1.PurchaseMatched",
		"treue.pos.v1.PurchaseRecorded", "treue.pos.v1.ReturnRecorded", "treue.touchpoint.v1.ContactRecorded"}
	if got := testkit.EventTypes(c.Consumes); !slices.Equal(got, want) {
		t.Errorf("consumes %v, want %v", got, want)
	}
}
