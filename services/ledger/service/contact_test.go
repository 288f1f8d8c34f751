package service_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/ledger/service"
)

// TestMemberTimeZone: a member's time zone is given at enrolment and changed with
// UpdateMember (audited, announced on ledger.member.enrolled and ledger.member.updated);
// one that is no IANA zone is InvalidArgument naming the field, and changes nothing.
func TestMemberTimeZone(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	enrolled, err := e.ledger("admin").Enroll(ctx, &ledgerv1.EnrollRequest{
		IdempotencyKey: "enroll-tz-1", DisplayName: "Zoe", Email: "zoe@example.com", TimeZone: "Europe/Berlin",
		Identifiers: []*ledgerv1.Identifier{phone("+49 170 1234567"), card("5000 0001")},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := enrolled.GetMember().GetMemberId()
	_, err = e.ledger("admin").Enroll(ctx, &ledgerv1.EnrollRequest{
		IdempotencyKey: "enroll-tz-2", DisplayName: "Yan", Email: "yan@example.com", TimeZone: "Mars/Olympus_Mons"})
	wantInvalidNaming(t, err, "time_zone")

	p, err := e.members("admin").GetMemberProfile(ctx, &ledgerv1.GetMemberProfileRequest{MemberId: m})
	if err != nil || p.GetProfile().GetTimeZone() != "Europe/Berlin" {
		t.Fatalf("profile %v, %v: want time zone Europe/Berlin", p, err)
	}
	testkit.Eventually(t, 10*time.Second, "enrolment announced with time zone and phone", func() bool {
		evs := published[*ledgerv1.MemberEnrolled](e)
		return len(evs) == 1 && evs[0].GetTimeZone() == "Europe/Berlin" && evs[0].GetPhone() == "+491701234567"
	})

	for _, bad := range []string{"Mars/Olympus_Mons", "Local", "Europe/Nowhere"} {
		_, err := e.members("admin").UpdateMember(ctx, &ledgerv1.UpdateMemberRequest{
			MemberId: m, UpdateMask: []string{"time_zone"}, TimeZone: bad})
		wantInvalidNaming(t, err, "time_zone")
	}
	up, err := e.members("service_agent").UpdateMember(ctx, &ledgerv1.UpdateMemberRequest{
		MemberId: m, UpdateMask: []string{"time_zone", "tags"}, TimeZone: "America/New_York", Tags: []string{"vip"}, Note: "moved"})
	if err != nil {
		t.Fatal(err)
	}
	if up.GetProfile().GetTimeZone() != "America/New_York" {
		t.Errorf("profile after the update %v", up.GetProfile())
	}
	var stored string
	if err := e.db.QueryRow(ctx, `SELECT time_zone FROM members WHERE id = $1`, m).Scan(&stored); err != nil || stored != "America/New_York" {
		t.Errorf("stored time zone %q, %v", stored, err)
	}
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE action = 'member.update' AND object_id = $1
		AND before->>'time_zone' = 'Europe/Berlin' AND after->>'time_zone' = 'America/New_York'`, m); n != 1 {
		t.Errorf("%d audited time zone changes, want 1", n)
	}
	testkit.Eventually(t, 10*time.Second, "the update announced", func() bool {
		evs := published[*ledgerv1.MemberUpdated](e)
		return len(evs) == 1 && evs[0].GetMemberId() == m && evs[0].GetTimeZone() == "America/New_York" &&
			evs[0].GetEmail() == "zoe@example.com" && evs[0].GetPhone() == "+491701234567" && evs[0].GetDisplayName() == "Zoe" &&
			slices.Equal(evs[0].GetTags(), []string{"vip"}) && evs[0].GetTier() != "" && evs[0].GetUpdatedAt() != nil
	})
	// Cleared with an empty zone.
	if _, err := e.members("admin").UpdateMember(ctx, &ledgerv1.UpdateMemberRequest{MemberId: m, UpdateMask: []string{"time_zone"}}); err != nil {
		t.Fatal(err)
	}
	p, _ = e.members("admin").GetMemberProfile(ctx, &ledgerv1.GetMemberProfileRequest{MemberId: m})
	if p.GetProfile().GetTimeZone() != "" {
		t.Errorf("time zone after clearing %q", p.GetProfile().GetTimeZone())
	}
}

// wantInvalidNaming checks err is InvalidArgument and names field.
func wantInvalidNaming(t *testing.T, err error, field string) {
	t.Helper()
	testkit.WantCode(t, err, codes.InvalidArgument)
	if !strings.Contains(status.Convert(err).Message(), field) {
		t.Errorf("InvalidArgument %q does not name %s", status.Convert(err).Message(), field)
	}
}

// TestIdentifierChangeAnnouncesMember: adding or removing an email or phone announces the
// member as they are now; a card does not.
func TestIdentifierChangeAnnouncesMember(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	enrolled, err := e.ledger("admin").Enroll(ctx, &ledgerv1.EnrollRequest{IdempotencyKey: "enroll-ned", DisplayName: "Ned", Email: "ned@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m := enrolled.GetMember().GetMemberId()
	for _, id := range []*ledgerv1.Identifier{card("6000 0001"), email("Ned.Work@Example.com"), phone("+44 20 7946 0958")} {
		if _, err := e.members("service_agent").AddIdentifier(ctx, &ledgerv1.AddIdentifierRequest{MemberId: m, Identifier: id}); err != nil {
			t.Fatal(err)
		}
	}
	// Added again: no change, nothing announced.
	if _, err := e.members("service_agent").AddIdentifier(ctx, &ledgerv1.AddIdentifierRequest{MemberId: m, Identifier: email("ned.work@example.com")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.members("service_agent").RemoveIdentifier(ctx, &ledgerv1.RemoveIdentifierRequest{MemberId: m, Identifier: phone("+442079460958")}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "two additions and a removal announced", func() bool {
		evs := published[*ledgerv1.MemberUpdated](e)
		return len(evs) == 3 &&
			evs[0].GetEmail() == "ned@example.com" && evs[0].GetPhone() == "" &&
			evs[1].GetEmail() == "ned@example.com" && evs[1].GetPhone() == "+442079460958" &&
			evs[2].GetEmail() == "ned@example.com" && evs[2].GetPhone() == "" && evs[2].GetMemberId() == m
	})
}

// TestPurchaseMatchedOnce: a purchase naming its member by card is announced matched
// once, with its employee, channel and amount, however often the till sends it; one
// naming the member by id, or an unknown card, is not.
func TestPurchaseMatchedOnce(t *testing.T) {
	e := started(t)
	m := e.enrollWith("Mia", card("7000 0001")).GetMember().GetMemberId()
	p := purchase("S1", "T1", "card:7000-0001", 2500)
	p.EmployeeId, p.Channel = "emp-42", commonv1.Channel_CHANNEL_STORE
	e.WaitHandled(service.ConsumerPOS, e.publishPurchase(p))
	again := purchase("S1", "T1", "card:7000-0001", 2500) // the same purchase under a new event id
	again.EmployeeId = "emp-42"
	e.WaitHandled(service.ConsumerPOS, e.publishPurchase(again), e.publishPurchase(p))
	e.WaitHandled(service.ConsumerPOS,
		e.publishPurchase(purchase("S1", "T2", m, 1000)),
		e.publishPurchase(purchase("S1", "T3", "card:7999 9999", 1000)))
	e.waitAvailable(m, 35)
	// The outbox relays in commit order: the credit of T2 published means T1's event is.
	testkit.Eventually(t, 10*time.Second, "credits published", func() bool {
		return len(published[*ledgerv1.PointsCredited](e)) == 2
	})
	evs := published[*ledgerv1.PurchaseMatched](e)
	if len(evs) != 1 {
		t.Fatalf("%d purchases announced matched, want 1: %v", len(evs), evs)
	}
	got := evs[0]
	if got.GetMemberId() != m || got.GetStoreId() != "S1" || got.GetTransactionId() != "T1" || got.GetPosEventId() != p.GetEventId() ||
		got.GetEmployeeId() != "emp-42" || got.GetChannel() != commonv1.Channel_CHANNEL_STORE || got.GetTotalMinor() != 2500 ||
		got.GetCurrency() != "EUR" || !got.GetOccurredAt().AsTime().Equal(p.GetOccurredAt().AsTime()) {
		t.Errorf("purchase matched %v", got)
	}
}

// TestUnsubscribeWithdrawsSurveyConsent: a member who followed a survey email's
// unsubscribe link has their survey consent withdrawn once, with the unsubscribe as its
// evidence, and the change announced; a second unsubscribe (or a redelivery) changes
// nothing, nor does one of an unknown member.
func TestUnsubscribeWithdrawsSurveyConsent(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	enrolled, err := e.ledger("admin").Enroll(ctx, &ledgerv1.EnrollRequest{
		IdempotencyKey: "enroll-una", DisplayName: "Una", Email: "una@example.com", SurveyConsent: true, MarketingConsent: true,
		ConsentEvidence: &ledgerv1.ConsentEvidence{Wording: "Ask me.", WordingVersion: "v1", Channel: ledgerv1.ContactChannel_CONTACT_CHANNEL_WEB},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := enrolled.GetMember().GetMemberId()
	unsub := func(member, invitation string) *surveyv1.MemberUnsubscribed {
		return &surveyv1.MemberUnsubscribed{MemberId: member, InvitationId: invitation,
			Channel: surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL, UnsubscribedAt: timestamppb.Now()}
	}
	id := uuid.NewString()
	first := unsub(m, "inv-1")
	e.WaitHandled(service.ConsumerUnsubscribe,
		e.send(id, first), e.send(id, first), // a redelivery
		e.send("", unsub(m, "inv-2")), // a second link followed
		e.send("", unsub(uuid.NewString(), "inv-3")))

	got, err := e.ledger("admin").GetMember(ctx, &ledgerv1.GetMemberRequest{MemberId: m})
	if err != nil || got.GetMember().GetSurveyConsent() || !got.GetMember().GetMarketingConsent() {
		t.Fatalf("member after unsubscribing %v, %v: want survey withdrawn, marketing kept", got, err)
	}
	history, err := e.members("auditor").ListConsents(ctx, &ledgerv1.ListConsentsRequest{MemberId: m})
	if err != nil {
		t.Fatal(err)
	}
	var withdrawals []*ledgerv1.ConsentRecord
	for _, c := range history.GetConsents() {
		if !c.GetGranted() {
			withdrawals = append(withdrawals, c)
		}
	}
	if len(withdrawals) != 1 {
		t.Fatalf("%d withdrawals recorded, want 1: %v", len(withdrawals), history.GetConsents())
	}
	if w := withdrawals[0]; w.GetPurpose() != ledgerv1.ConsentPurpose_CONSENT_PURPOSE_SURVEY ||
		w.GetChannel() != ledgerv1.ContactChannel_CONTACT_CHANNEL_EMAIL || w.GetWording() != "unsubscribe link in a survey email" ||
		w.GetEvidence() != "invitation:inv-1" || w.GetRecordedBy() != "survey" {
		t.Errorf("withdrawal %v", w)
	}
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE object_id = $1 AND action = 'consent.withdraw' AND actor = 'survey'`, m); n != 1 {
		t.Errorf("%d withdrawals audited, want 1", n)
	}
	testkit.Eventually(t, 10*time.Second, "the withdrawal announced", func() bool {
		evs := published[*ledgerv1.MemberConsentChanged](e)
		return len(evs) == 1 && evs[0].GetMemberId() == m && !evs[0].GetSurveyConsent() && evs[0].GetMarketingConsent()
	})
	time.Sleep(300 * time.Millisecond) // nothing further may follow
	if n := len(published[*ledgerv1.MemberConsentChanged](e)); n != 1 {
		t.Errorf("%d consent changes announced, want 1", n)
	}
}
