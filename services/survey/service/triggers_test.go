package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/services/survey/service"
)

func TestPurchaseInvitesAtMostOncePerContactInterval(t *testing.T) {
	t.Parallel()
	e := start(t)
	member, noConsent := uuid.NewString(), uuid.NewString()
	e.enroll(member, "de-DE", true)
	e.enroll(noConsent, "en", false)

	first := purchase("S1", member)
	e.buy(first)
	inv := e.invitationFor(member)
	if inv.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_PURCHASE || inv.GetStoreId() != "S1" ||
		inv.GetTriggerEventId() != first.GetEventId() || inv.GetSurveyId() == "" {
		t.Errorf("invitation = %v", inv)
	}
	if !strings.HasPrefix(inv.GetUrl(), publicURL+"/s/") {
		t.Errorf("url %q is not under %s/s/", inv.GetUrl(), publicURL)
	}
	if ttl := time.Until(inv.GetExpiresAt().AsTime()); ttl < service.DefaultLinkTTL-time.Minute || ttl > service.DefaultLinkTTL {
		t.Errorf("link expires in %v, want about %v", ttl, service.DefaultLinkTTL)
	}

	// The mailer (role service) sees the link; marketing, service agents and admins see
	// the invitation without it: the link answers the survey as the member.
	for _, c := range []struct {
		role   string
		client surveyv1.SurveyServiceClient
		url    string
	}{{"service", e.service, inv.GetUrl()}, {"marketing", e.marketing, ""}, {"admin", e.admin, ""}} {
		list, err := c.client.ListInvitations(testkit.Ctx(t), &surveyv1.ListInvitationsRequest{MemberId: member})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.GetInvitations()) != 1 {
			t.Fatalf("%s listed %d invitations, want 1", c.role, len(list.GetInvitations()))
		}
		got := list.GetInvitations()[0]
		if got.GetInvitationId() != inv.GetInvitationId() || got.GetUrl() != c.url || got.GetAnswered() {
			t.Errorf("%s listed %v, want the created invitation, unanswered, with url %q", c.role, got, c.url)
		}
	}

	// A second purchase within the interval earns nothing.
	e.buy(purchase("S2", member))
	// No consent: nothing.
	e.buy(purchase("S1", noConsent))
	// Anonymous: nothing.
	e.buy(purchase("S1", ""))

	if n := e.invitationsOf(member); n != 1 {
		t.Errorf("member has %d invitations, want 1", n)
	}
	if n := e.invitationsOf(noConsent); n != 0 {
		t.Errorf("member without consent has %d invitations, want 0", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM invitations`); n != 1 {
		t.Errorf("%d invitations in all, want 1", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM pending_triggers`); n != 0 {
		t.Errorf("%d parked triggers, want 0", n)
	}
}

// Many purchases of one member arriving together (one batch, or concurrent batches)
// still earn one invitation: the contact policy is enforced by the database.
func TestBurstOfPurchasesEarnsOneInvitation(t *testing.T) {
	t.Parallel()
	e := start(t)
	members := []string{uuid.NewString(), uuid.NewString()}
	for _, m := range members {
		e.enroll(m, "en", true)
	}
	var last testkit.Sent
	for i := range 60 {
		p := purchase("S1", members[i%2])
		last = e.publish(p.GetEventId(), p)
	}
	e.WaitHandled(service.ConsumerPOS, last)
	testkit.Eventually(t, 10*time.Second, "all purchases handled", func() bool {
		return e.db.Count(`SELECT count(*) FROM inbox WHERE consumer = $1`, service.ConsumerPOS) == 60
	})
	for _, m := range members {
		e.invitationFor(m)
		if n := e.invitationsOf(m); n != 1 {
			t.Errorf("member %s has %d invitations, want 1", m, n)
		}
	}
}

func TestPurchaseBeforeEnrolmentIsParked(t *testing.T) {
	t.Parallel()
	e := start(t)
	member, noConsent := uuid.NewString(), uuid.NewString()

	p := purchase("S7", member)
	e.buy(p)
	e.buy(purchase("S7", noConsent))
	if n := e.db.Count(`SELECT count(*) FROM pending_triggers WHERE member_id = $1`, member); n != 1 {
		t.Fatalf("%d parked triggers for the member, want 1", n)
	}
	if n := e.invitationsOf(member); n != 0 {
		t.Fatalf("%d invitations before enrolment, want 0", n)
	}

	e.enroll(member, "en", true)
	inv := e.invitationFor(member)
	if inv.GetTriggerEventId() != p.GetEventId() || inv.GetStoreId() != "S7" {
		t.Errorf("invitation = %v, want one for the parked purchase", inv)
	}
	if n := e.db.Count(`SELECT count(*) FROM pending_triggers WHERE member_id = $1`, member); n != 0 {
		t.Errorf("%d parked triggers left, want 0", n)
	}

	// A parked trigger of a member without consent is dropped at enrolment.
	e.enroll(noConsent, "en", false)
	if n := e.db.Count(`SELECT count(*) FROM pending_triggers`); n != 0 {
		t.Errorf("%d parked triggers left, want 0", n)
	}
	if n := e.invitationsOf(noConsent); n != 0 {
		t.Errorf("member without consent has %d invitations", n)
	}
}

// The same purchase published twice makes one invitation, even without a contact
// interval: a re-publish with the same message id is dropped by JetStream; one under
// another message id, or with a new event id, is recognised by its trigger (the event id,
// and the purchase's store and transaction).
func TestSamePurchaseTwiceMakesOneInvitation(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *service.Config) { c.ContactInterval = 0 })
	member := uuid.NewString()
	e.enroll(member, "en", true)

	p := purchase("S1", member)
	e.buy(p)
	e.invitationFor(member)

	// Same message id: JetStream's de-duplication drops it.
	e.publish(p.GetEventId(), p)
	// Same payload under another message id: a second event for the inbox, same trigger.
	again := e.publish(uuid.NewString(), p)
	e.WaitHandled(service.ConsumerPOS, again)
	// The same transaction under a new event id.
	resent := proto.Clone(p).(*posv1.PurchaseRecorded)
	resent.EventId = uuid.NewString()
	e.buy(resent)

	if n := e.invitationsOf(member); n != 1 {
		t.Errorf("%d invitations, want 1", n)
	}
	// Without an interval another purchase does earn another invitation: the single
	// invitation above is the triggers' doing, not the policy's.
	e.buy(purchase("S1", member))
	if n := e.invitationsOf(member); n != 2 {
		t.Errorf("%d invitations after a new purchase, want 2", n)
	}
	testkit.Eventually(t, 10*time.Second, "two invitation events", func() bool { return e.invitationEvents(member) == 2 })
}

func TestServiceCallInvites(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := uuid.NewString()
	e.enroll(member, "en", true)
	c := &touchpointv1.ContactRecorded{
		EventId: uuid.NewString(), MemberId: member, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL,
		StoreId: "HOTLINE", Reference: "TICKET-1", OccurredAt: timestamppb.Now(),
	}
	e.contact(c)
	inv := e.invitationFor(member)
	if inv.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL || inv.GetTriggerEventId() != c.GetEventId() || inv.GetStoreId() != "HOTLINE" {
		t.Errorf("invitation = %v", inv)
	}
	// The purchase afterwards falls within the contact interval.
	e.buy(purchase("S1", member))
	if n := e.invitationsOf(member); n != 1 {
		t.Errorf("%d invitations, want 1", n)
	}
}
