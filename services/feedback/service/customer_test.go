package service_test

import (
	"testing"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"

	"github.com/treue/treue/services/feedback/internal/ports/events"
)

// TestCustomerOnCase: after the ledger's events, the case shows the agent the member's
// name, contact, tier and points (a redelivered credit counted once); roles without
// the need see no customer; an erased member's customer block is empty and their
// loyalty events are gone.
func TestCustomerOnCase(t *testing.T) {
	t.Parallel()
	e := start(t)
	member, phoneOnly := uuid.NewString(), uuid.NewString()
	credit := &ledgerv1.PointsCredited{TransactionId: uuid.NewString(), MemberId: member, Points: 120,
		Reason: ledgerv1.PointsReason_POINTS_REASON_PURCHASE, Reference: "pos:s1:t1", OccurredAt: timestamppb.Now()}
	ids := []testkit.Sent{
		e.publish(&ledgerv1.MemberEnrolled{MemberId: member, DisplayName: "Ada Lovelace", Email: "ada@example.com",
			Phone: "+49 30 1234", Locale: "de-DE", Tier: "SILVER", EnrolledAt: timestamppb.Now()}),
		e.publish(&ledgerv1.MemberUpdated{MemberId: member, DisplayName: "Ada King", UpdatedAt: timestamppb.Now()}),
		e.publish(&ledgerv1.MemberTierChanged{MemberId: member, FromTier: "SILVER", ToTier: "GOLD", Reason: ledgerv1.TierChangeReason_TIER_CHANGE_REASON_UPGRADE, EffectiveAt: timestamppb.Now()}),
		e.publish(&ledgerv1.MemberEnrolled{MemberId: phoneOnly, DisplayName: "Bo", Phone: "+43 1 55", EnrolledAt: timestamppb.Now()}),
	}
	e.WaitHandled(events.ConsumerMembers, ids...)
	e.WaitHandled(events.ConsumerPoints, ids[2])
	points := []testkit.Sent{
		e.publish(credit),
		e.publish(credit), // the same credit again: counted once
		e.publish(&ledgerv1.PointsDebited{TransactionId: uuid.NewString(), MemberId: member, Points: 20,
			Reason: ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT, OccurredAt: timestamppb.Now()}),
	}
	e.WaitHandled(events.ConsumerPoints, points...)

	c := e.waitCase(e.submit(2, withMember(member)).GetResponseId())
	got, err := e.client.GetCase(as(keyAlice), &feedbackv1.GetCaseRequest{CaseId: c.GetCaseId()})
	if err != nil {
		t.Fatalf("GetCase: %v", err)
	}
	cu := got.GetCase().GetCustomer()
	if cu.GetDisplayName() != "Ada King" || cu.GetEmail() != "ada@example.com" || cu.GetPhone() != "+49 30 1234" ||
		cu.GetPreferredContact() != "email" || cu.GetTier() != "GOLD" || cu.GetPoints() != 100 || cu.GetLocale() != "de-DE" {
		t.Errorf("customer on the case: %v", cu)
	}
	if got.GetCase().GetTouchpoint() != c.GetTouchpoint() || got.GetCase().GetStoreId() != c.GetStoreId() {
		t.Errorf("touchpoint %v store %q", got.GetCase().GetTouchpoint(), got.GetCase().GetStoreId())
	}
	admin, err := e.client.GetCase(as(keyAdmin), &feedbackv1.GetCaseRequest{CaseId: c.GetCaseId()})
	if err != nil || admin.GetCase().GetCustomer().GetDisplayName() != "Ada King" {
		t.Errorf("admin sees %v, %v", admin.GetCase().GetCustomer(), err)
	}
	for _, key := range []string{keyAuditor, keyMarket} {
		r, err := e.client.GetCase(as(key), &feedbackv1.GetCaseRequest{CaseId: c.GetCaseId()})
		if err != nil || r.GetCase().GetCustomer() != nil {
			t.Errorf("%s sees the customer %v, %v", key, r.GetCase().GetCustomer(), err)
		}
	}
	if n := e.db.Count(`SELECT count(*) FROM member_events WHERE member_id = $1 AND kind <> 'response'`, member); n != 3 {
		t.Errorf("%d loyalty events kept, want 3 (credit, debit, tier)", n)
	}

	m := e.export(keyAdmin, member).GetData().GetFields()["member"].GetStructValue().AsMap()
	if m["display_name"] != "Ada King" || m["email"] != "ada@example.com" || m["phone"] != "+49 30 1234" || m["points"] != float64(100) {
		t.Errorf("export's member %v", m)
	}

	pc := e.waitCase(e.submit(1, withMember(phoneOnly)).GetResponseId())
	r, err := e.client.GetCase(as(keyAlice), &feedbackv1.GetCaseRequest{CaseId: pc.GetCaseId()})
	if err != nil || r.GetCase().GetCustomer().GetPreferredContact() != "phone" {
		t.Errorf("phone-only member: %v, %v", r.GetCase().GetCustomer(), err)
	}

	// Erased: the copy and the loyalty events go; a late credit is not kept.
	erased := e.publish(&ledgerv1.MemberErased{MemberId: member, ErasedAt: timestamppb.Now()})
	e.WaitHandled(events.ConsumerMembers, erased)
	late := e.publish(&ledgerv1.PointsCredited{TransactionId: uuid.NewString(), MemberId: member, Points: 5,
		Reason: ledgerv1.PointsReason_POINTS_REASON_PURCHASE, OccurredAt: timestamppb.Now()})
	e.WaitHandled(events.ConsumerPoints, late)
	after, err := e.client.GetCase(as(keyAlice), &feedbackv1.GetCaseRequest{CaseId: c.GetCaseId()})
	if err != nil || after.GetCase().GetCustomer() != nil {
		t.Errorf("erased member's case shows %v, %v", after.GetCase().GetCustomer(), err)
	}
	if n := e.db.Count(`SELECT count(*) FROM member_events WHERE member_id = $1`, member) +
		e.db.Count(`SELECT count(*) FROM members WHERE member_id = $1`, member); n != 0 {
		t.Errorf("%d rows of the erased member kept", n)
	}
}
