package service_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/services/ledger/service"
)

func (e *env) members(role string) ledgerv1.MemberServiceClient {
	return ledgerv1.NewMemberServiceClient(e.Conn(e.cur.Service.GRPCAddr(), role))
}

func card(v string) *ledgerv1.Identifier {
	return &ledgerv1.Identifier{Kind: ledgerv1.IdentifierKind_IDENTIFIER_KIND_CARD, Value: v}
}

func email(v string) *ledgerv1.Identifier {
	return &ledgerv1.Identifier{Kind: ledgerv1.IdentifierKind_IDENTIFIER_KIND_EMAIL, Value: v}
}

func phone(v string) *ledgerv1.Identifier {
	return &ledgerv1.Identifier{Kind: ledgerv1.IdentifierKind_IDENTIFIER_KIND_PHONE, Value: v}
}

// enrollWith enrols a member holding ids and returns the answer.
func (e *env) enrollWith(name string, ids ...*ledgerv1.Identifier) *ledgerv1.EnrollResponse {
	e.t.Helper()
	resp, err := e.ledger("admin").Enroll(testkit.Ctx(e.t), &ledgerv1.EnrollRequest{
		IdempotencyKey: "enroll-" + uuid.NewString(), DisplayName: name, Email: strings.ToLower(name) + "@example.com",
		Identifiers: ids,
	})
	if err != nil {
		e.t.Fatalf("enroll %s: %v", name, err)
	}
	return resp
}

// wantAlreadyExistsNaming checks err is AlreadyExists and names the identifier's kind.
func wantAlreadyExistsNaming(t *testing.T, err error, kind string) {
	t.Helper()
	testkit.WantCode(t, err, codes.AlreadyExists)
	if !strings.Contains(status.Convert(err).Message(), kind) {
		t.Errorf("AlreadyExists %q does not name the %s", status.Convert(err).Message(), kind)
	}
}

// TestIdentifiersAreUnique: a card, email or phone belongs to one member, whatever its
// spelling; enrolment and AddIdentifier refuse one another member holds (AlreadyExists
// naming its kind), the enrolment then enrols nobody; a removed card is free again;
// every change is audited without the full email or phone.
func TestIdentifiersAreUnique(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	ada := e.enrollWith("Ada", card("1234 5678-ab"), email(" Ada@Example.COM "), phone("0049 (151) 234-5678")).GetMember().GetMemberId()

	// Another spelling of the same card, email or phone is the same identifier.
	for _, c := range []struct {
		kind string
		id   *ledgerv1.Identifier
	}{{"card", card("12345678AB")}, {"email", email("ada@example.com")}, {"phone", phone("+491512345678")}} {
		_, err := e.ledger("admin").Enroll(ctx, &ledgerv1.EnrollRequest{
			IdempotencyKey: "enroll-" + uuid.NewString(), DisplayName: "Bob", Email: "bob@example.com",
			Identifiers: []*ledgerv1.Identifier{card("BOB-0001"), c.id},
		})
		wantAlreadyExistsNaming(t, err, c.kind)
	}
	if n := e.db.Count(`SELECT count(*) FROM members`); n != 1 {
		t.Fatalf("%d members after refused enrolments, want 1", n)
	}
	bob := e.enrollWith("Bob").GetMember().GetMemberId()
	_, err := e.members("service_agent").AddIdentifier(ctx, &ledgerv1.AddIdentifierRequest{MemberId: bob, Identifier: email("ADA@example.com")})
	wantAlreadyExistsNaming(t, err, "email")

	// Adding what the member holds is answered again, normalised.
	got, err := e.members("admin").AddIdentifier(ctx, &ledgerv1.AddIdentifierRequest{MemberId: ada, Identifier: card("1234-5678-AB")})
	if err != nil || !proto.Equal(got.GetIdentifier(), card("12345678AB")) {
		t.Errorf("adding a card the member holds = %v, %v", got, err)
	}
	// Several cards per member.
	if _, err := e.members("admin").AddIdentifier(ctx, &ledgerv1.AddIdentifierRequest{MemberId: ada, Identifier: card("ADA-0002")}); err != nil {
		t.Fatal(err)
	}
	// Malformed identifiers are refused with their field.
	for _, id := range []*ledgerv1.Identifier{card("12"), email("not-an-email"), phone("0151 2345678"), phone("+49 151 abc")} {
		_, err := e.members("admin").AddIdentifier(ctx, &ledgerv1.AddIdentifierRequest{MemberId: bob, Identifier: id})
		testkit.WantCode(t, err, codes.InvalidArgument)
		if !strings.Contains(err.Error(), "identifier.value") {
			t.Errorf("%v: %v does not name the field", id, err)
		}
	}
	_, err = e.members("admin").AddIdentifier(ctx, &ledgerv1.AddIdentifierRequest{MemberId: uuid.NewString(), Identifier: card("FREE-0001")})
	testkit.WantCode(t, err, codes.NotFound)
	for _, role := range []string{"pos", "marketing", "auditor"} {
		_, err := e.members(role).AddIdentifier(ctx, &ledgerv1.AddIdentifierRequest{MemberId: bob, Identifier: card("FREE-0001")})
		testkit.WantCode(t, err, codes.PermissionDenied)
	}

	// A lost card: removed from Ada, Bob may have it.
	_, err = e.members("service_agent").RemoveIdentifier(ctx, &ledgerv1.RemoveIdentifierRequest{MemberId: bob, Identifier: card("12345678ab")})
	testkit.WantCode(t, err, codes.NotFound)
	if _, err := e.members("service_agent").RemoveIdentifier(ctx, &ledgerv1.RemoveIdentifierRequest{
		MemberId: ada, Identifier: card("12345678ab"), Note: "card lost"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.members("service_agent").AddIdentifier(ctx, &ledgerv1.AddIdentifierRequest{MemberId: bob, Identifier: card("12345678AB")}); err != nil {
		t.Errorf("the removed card for another member: %v", err)
	}
	profile, err := e.members("auditor").GetMemberProfile(ctx, &ledgerv1.GetMemberProfileRequest{MemberId: ada})
	if err != nil {
		t.Fatal(err)
	}
	want := []*ledgerv1.Identifier{card("ADA-0002"), email("ada@example.com"), phone("+491512345678")}
	want[0].Value = "ADA0002"
	if ids := profile.GetProfile().GetIdentifiers(); len(ids) != 3 || !proto.Equal(ids[0], want[0]) || !proto.Equal(ids[1], want[1]) || !proto.Equal(ids[2], want[2]) {
		t.Errorf("Ada's identifiers %v, want %v", ids, want)
	}

	// Audited, and the append-only log never holds the full email or phone.
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE action = 'identifier.add' AND actor = 'service_agent'`); n != 1 {
		t.Errorf("%d identifier.add entries by the service agent, want 1", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE action = 'identifier.remove' AND object_id = $1 AND note = 'card lost'`, ada); n != 1 {
		t.Errorf("%d identifier.remove entries, want 1", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE before::text LIKE '%ada@%' OR after::text LIKE '%ada@%' OR after::text LIKE '%2345678%'`); n != 0 {
		t.Errorf("%d audit entries hold a full email or phone", n)
	}
}

// TestEnrollWithIdentifiersIsIdempotent: a retry with the same identifiers (in any
// spelling or order) returns the member; the same key with other identifiers is refused.
func TestEnrollWithIdentifiersIsIdempotent(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	req := &ledgerv1.EnrollRequest{IdempotencyKey: "enroll-ida-1", DisplayName: "Ida", Email: "ida@example.com",
		Identifiers: []*ledgerv1.Identifier{card("IDA-1"), email("ida@example.com")}}
	first, err := e.ledger("pos").Enroll(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	req.Identifiers = []*ledgerv1.Identifier{email("IDA@example.com"), card("ida1")}
	again, err := e.ledger("pos").Enroll(ctx, req)
	if err != nil || again.GetMember().GetMemberId() != first.GetMember().GetMemberId() {
		t.Errorf("retry = %v, %v; want %s", again, err, first.GetMember().GetMemberId())
	}
	req.Identifiers = []*ledgerv1.Identifier{card("IDA-2")}
	_, err = e.ledger("pos").Enroll(ctx, req)
	testkit.WantCode(t, err, codes.FailedPrecondition)
	if n := e.db.Count(`SELECT count(*) FROM member_identifiers`); n != 2 {
		t.Errorf("%d identifiers, want 2", n)
	}
}

// TestLookupMemberForTill: a till finds a member by card, email or phone and learns
// their id, tier, points and initial, nothing that identifies them.
func TestLookupMemberForTill(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	m := e.enrollWith("Zelda", card("7777-0001"), email("zelda@example.com"), phone("+44 20 7946 0018")).GetMember().GetMemberId()
	e.publishPurchase(purchase("S1", "T1", m, 4200))
	e.waitAvailable(m, 42)

	for _, id := range []*ledgerv1.Identifier{card("77770001"), email("Zelda@Example.com"), phone("0044 20 7946 0018")} {
		got, err := e.members("pos").LookupMember(ctx, &ledgerv1.LookupMemberRequest{Identifier: id})
		if err != nil {
			t.Fatalf("lookup by %v: %v", id, err)
		}
		want := &ledgerv1.LookupMemberResponse{MemberId: m, Tier: "standard", AvailablePoints: 42, NameInitial: "Z"}
		if !proto.Equal(got, want) {
			t.Errorf("lookup by %v = %v, want %v", id, got, want)
		}
		if text := strings.ToLower(prototext.Format(got)); strings.Contains(text, "zelda") || strings.Contains(text, "example.com") || strings.Contains(text, "7946") {
			t.Errorf("a till learnt personal data: %s", text)
		}
	}
	_, err := e.members("pos").LookupMember(ctx, &ledgerv1.LookupMemberRequest{Identifier: card("NOBODY-1")})
	testkit.WantCode(t, err, codes.NotFound)
	_, err = e.members("pos").LookupMember(ctx, &ledgerv1.LookupMemberRequest{Identifier: &ledgerv1.Identifier{Value: "77770001"}})
	testkit.WantCode(t, err, codes.InvalidArgument)
	for _, role := range []string{"marketing", "service"} {
		_, err := e.members(role).LookupMember(ctx, &ledgerv1.LookupMemberRequest{Identifier: card("77770001")})
		testkit.WantCode(t, err, codes.PermissionDenied)
	}
}

// TestPurchaseByIdentifierCreditsMember: a purchase may name its member by card (with
// the card: prefix or bare), email or phone, in any spelling; a return of it debits that
// member; a card no member holds keeps the purchase unmatched, with its identifier.
func TestPurchaseByIdentifierCreditsMember(t *testing.T) {
	e := started(t)
	m := e.enrollWith("Mona", card("4000 1234"), email("mona@example.com"), phone("+33 6 12 34 56 78")).GetMember().GetMemberId()
	e.publishPurchase(purchase("S1", "T1", "card:4000-1234", 1000))
	e.publishPurchase(purchase("S1", "T2", "40001234", 2000))
	e.publishPurchase(purchase("S1", "T3", "email:MONA@example.com", 3000))
	e.publishPurchase(purchase("S1", "T4", "phone:0033 612345678", 4000))
	e.waitAvailable(m, 100)
	e.WaitHandled(service.ConsumerPOS, e.publishReturn(posReturn("S1", "R1", "T2", "40001234", 2000)))
	e.waitAvailable(m, 80)
	if n := e.db.Count(`SELECT count(*) FROM purchases WHERE member_id = $1`, m); n != 4 {
		t.Errorf("%d purchases credited to the member, want 4", n)
	}
	// A return whose purchase never came debits the member its card names.
	e.WaitHandled(service.ConsumerPOS, e.publishReturn(posReturn("S1", "R2", "T-missing", "card:4000 1234", 1500)))
	if got := e.returnRow("S1", "R2"); got != (returnRow{points: 15, debited: 15, orphan: true}) {
		t.Errorf("orphan return by card booked %+v, want 15 debited", got)
	}
	e.waitAvailable(m, 65)

	e.WaitHandled(service.ConsumerPOS, e.publishPurchase(purchase("S1", "T5", "card:9999-0000", 5000)))
	if n := e.db.Count(`SELECT count(*) FROM unmatched_purchases WHERE transaction_id = 'T5'
		AND identifier_kind = 'card' AND identifier_value = '99990000'`); n != 1 {
		t.Errorf("the purchase of an unknown card: %d unmatched with its identifier, want 1", n)
	}
	checkInvariants(t, e)
}

// oldPurchase is a purchase made ago.
func oldPurchase(store, txID, memberRef string, totalMinor int64, ago time.Duration) *posv1.PurchaseRecorded {
	p := purchase(store, txID, memberRef, totalMinor)
	p.OccurredAt = timestamppb.New(time.Now().Add(-ago))
	return p
}

// TestClaimPurchase: a purchase for a card nobody held is offered when a member enrols
// with the card and credited once they claim it, once: a second claim (by them or
// another member) is AlreadyExists, a retry with the same key answers the first claim,
// a wrong total or an unknown receipt NotFound, one older than the window
// FailedPrecondition. A return of the claimed purchase debits the claimant.
func TestClaimPurchase(t *testing.T) {
	e := started(t, func(c *service.Config) { c.ClaimWindow = time.Hour })
	ctx := testkit.Ctx(t)
	e.publishPurchase(purchase("S1", "T1", "card:5555-0001", 2500))
	e.publishPurchase(oldPurchase("S1", "T-old", "card:5555-0001", 1000, 2*time.Hour))
	e.WaitHandled(service.ConsumerPOS, e.publishPurchase(purchase("S2", "T9", "", 900))) // anonymous

	enrolled := e.enrollWith("Carla", card("55550001"))
	m := enrolled.GetMember().GetMemberId()
	offered := enrolled.GetClaimableReceipts()
	if len(offered) != 1 || offered[0].GetStoreId() != "S1" || offered[0].GetTransactionId() != "T1" || offered[0].GetTotalMinor() != 2500 ||
		offered[0].GetClaimableUntil() == nil {
		t.Fatalf("enrolment offered %v, want S1/T1 only (T-old is past the window)", offered)
	}
	if e.balance(m).GetAvailable() != 0 {
		t.Fatal("an offered receipt was credited without a claim")
	}

	claim := &ledgerv1.ClaimPurchaseRequest{IdempotencyKey: "claim-carla-1", MemberId: m, StoreId: "S1", TransactionId: "T1",
		TotalMinor: 2500, Channel: ledgerv1.ContactChannel_CONTACT_CHANNEL_WEB}
	_, err := e.members("pos").ClaimPurchase(ctx, claim)
	testkit.WantCode(t, err, codes.PermissionDenied)
	wrong := proto.Clone(claim).(*ledgerv1.ClaimPurchaseRequest)
	wrong.TotalMinor = 2400
	_, err = e.members("service").ClaimPurchase(ctx, wrong)
	testkit.WantCode(t, err, codes.NotFound)

	first, err := e.members("service").ClaimPurchase(ctx, claim)
	if err != nil {
		t.Fatal(err)
	}
	if first.GetPoints() != 25 || first.GetMemberId() != m || first.GetLedgerTransactionId() == "" {
		t.Errorf("claim = %v, want 25 points for %s", first, m)
	}
	e.waitAvailable(m, 25)
	again, err := e.members("service").ClaimPurchase(ctx, claim)
	if err != nil || !proto.Equal(again, first) {
		t.Errorf("retried claim = %v, %v; want %v", again, err, first)
	}
	other := proto.Clone(claim).(*ledgerv1.ClaimPurchaseRequest)
	other.IdempotencyKey = "claim-carla-2"
	_, err = e.members("service").ClaimPurchase(ctx, other)
	testkit.WantCode(t, err, codes.AlreadyExists)
	// Another member, through staff: refused too.
	dora := e.enroll("Dora")
	other.MemberId, other.IdempotencyKey = dora, "claim-dora-1"
	_, err = e.members("service_agent").ClaimPurchase(ctx, other)
	testkit.WantCode(t, err, codes.AlreadyExists)
	// The same key with another request.
	other.IdempotencyKey = "claim-carla-1"
	_, err = e.members("service").ClaimPurchase(ctx, other)
	testkit.WantCode(t, err, codes.FailedPrecondition)

	// Past the window.
	old := &ledgerv1.ClaimPurchaseRequest{IdempotencyKey: "claim-carla-3", MemberId: m, StoreId: "S1", TransactionId: "T-old", TotalMinor: 1000}
	_, err = e.members("service_agent").ClaimPurchase(ctx, old)
	testkit.WantCode(t, err, codes.FailedPrecondition)
	if r := grpcx.Reason(err); r != "CLAIM_WINDOW_CLOSED" {
		t.Errorf("reason %q, want CLAIM_WINDOW_CLOSED", r)
	}
	_, err = e.members("admin").ClaimPurchase(ctx, &ledgerv1.ClaimPurchaseRequest{IdempotencyKey: "claim-carla-4", MemberId: m, StoreId: "S1", TransactionId: "nope", TotalMinor: 1})
	testkit.WantCode(t, err, codes.NotFound)
	// An anonymous receipt may be claimed by staff for the member who forgot their card.
	anon, err := e.members("service_agent").ClaimPurchase(ctx, &ledgerv1.ClaimPurchaseRequest{
		IdempotencyKey: "claim-dora-2", MemberId: dora, StoreId: "S2", TransactionId: "T9", TotalMinor: 900,
		Channel: ledgerv1.ContactChannel_CONTACT_CHANNEL_CALL_CENTRE})
	if err != nil || anon.GetPoints() != 9 {
		t.Errorf("claim of an anonymous receipt = %v, %v", anon, err)
	}

	// The claimed purchase is the member's now: its return debits them.
	e.WaitHandled(service.ConsumerPOS, e.publishReturn(posReturn("S1", "R1", "T1", "", 1000)))
	e.waitAvailable(m, 15)
	if n := e.db.Count(`SELECT count(*) FROM unmatched_purchases WHERE transaction_id = 'T1' AND claimed_by = $1 AND claimed_at IS NOT NULL`, m); n != 1 {
		t.Errorf("the unmatched purchase is not marked claimed")
	}
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE action = 'purchase.claim'`); n != 2 {
		t.Errorf("%d claims audited, want 2", n)
	}
	// Claimed: no longer offered.
	added, err := e.members("admin").AddIdentifier(ctx, &ledgerv1.AddIdentifierRequest{MemberId: m, Identifier: card("5555-0001")})
	if err != nil || len(added.GetClaimableReceipts()) != 0 {
		t.Errorf("AddIdentifier after the claim = %v, %v; want nothing to claim", added, err)
	}
	testkit.Eventually(t, 10*time.Second, "the claims' credits to be published", func() bool {
		return len(published[*ledgerv1.PointsCredited](e)) == 2
	})
	checkInvariants(t, e)
}

// TestAddIdentifierOffersUnmatchedReceipts: a card given to a member after purchases
// were recorded for it offers them, credits nothing.
func TestAddIdentifierOffersUnmatchedReceipts(t *testing.T) {
	e := started(t)
	e.publishPurchase(purchase("S1", "T1", "phone:+4915100000001", 1000))
	e.WaitHandled(service.ConsumerPOS, e.publishPurchase(purchase("S1", "T2", "phone:004915100000001", 2000)))
	m := e.enroll("Ella")
	added, err := e.members("service").AddIdentifier(testkit.Ctx(t), &ledgerv1.AddIdentifierRequest{MemberId: m, Identifier: phone("+49 151 00000001")})
	if err != nil {
		t.Fatal(err)
	}
	if r := added.GetClaimableReceipts(); len(r) != 2 || r[0].GetTransactionId() != "T1" || r[1].GetTransactionId() != "T2" {
		t.Errorf("offered %v, want T1 and T2", r)
	}
	if e.balance(m).GetAvailable() != 0 {
		t.Error("offering credited points")
	}
}

// TestConsentWithEvidence: consents given at enrolment are recorded with their
// evidence; a withdrawal is one call; the member's flags follow the latest record, the
// change is announced and audited, the history is readable by staff.
func TestConsentWithEvidence(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	enrolled, err := e.ledger("pos").Enroll(ctx, &ledgerv1.EnrollRequest{
		IdempotencyKey: "enroll-fay-1", DisplayName: "Fay", Email: "fay@example.com", SurveyConsent: true,
		ConsentEvidence: &ledgerv1.ConsentEvidence{Wording: "You may ask me about my visits.", WordingVersion: "survey-2026-01",
			Channel: ledgerv1.ContactChannel_CONTACT_CHANNEL_POS, Evidence: "signature pad #17"},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := enrolled.GetMember().GetMemberId()

	withdrawn, err := e.members("service").WithdrawConsent(ctx, &ledgerv1.WithdrawConsentRequest{
		MemberId: m, Purpose: ledgerv1.ConsentPurpose_CONSENT_PURPOSE_SURVEY, Channel: ledgerv1.ContactChannel_CONTACT_CHANNEL_WEB})
	if err != nil {
		t.Fatal(err)
	}
	if c := withdrawn.GetConsent(); c.GetGranted() || c.GetRecordedBy() != "service" || c.GetRecordedAt() == nil ||
		c.GetChannel() != ledgerv1.ContactChannel_CONTACT_CHANNEL_WEB {
		t.Errorf("withdrawal %v", c)
	}
	if _, err := e.members("service_agent").RecordConsent(ctx, &ledgerv1.RecordConsentRequest{
		MemberId: m, Purpose: ledgerv1.ConsentPurpose_CONSENT_PURPOSE_MARKETING, Wording: "Send me offers.", WordingVersion: "mkt-3",
		Channel: ledgerv1.ContactChannel_CONTACT_CHANNEL_CALL_CENTRE, Evidence: "call 2026-11-30 #881"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.members("service").RecordConsent(ctx, &ledgerv1.RecordConsentRequest{
		MemberId: m, Purpose: ledgerv1.ConsentPurpose_CONSENT_PURPOSE_MARKETING, WordingVersion: "mkt-3",
		Channel: ledgerv1.ContactChannel_CONTACT_CHANNEL_WEB})
	testkit.WantCode(t, err, codes.InvalidArgument) // no wording: no evidence

	got, err := e.ledger("admin").GetMember(ctx, &ledgerv1.GetMemberRequest{MemberId: m})
	if err != nil || got.GetMember().GetSurveyConsent() || !got.GetMember().GetMarketingConsent() {
		t.Errorf("member after the changes %v, %v: want survey withdrawn, marketing given", got, err)
	}
	history, err := e.members("auditor").ListConsents(ctx, &ledgerv1.ListConsentsRequest{MemberId: m})
	if err != nil {
		t.Fatal(err)
	}
	cs := history.GetConsents()
	if len(cs) != 3 || cs[0].GetPurpose() != ledgerv1.ConsentPurpose_CONSENT_PURPOSE_MARKETING || !cs[0].GetGranted() ||
		cs[0].GetWording() != "Send me offers." || cs[0].GetEvidence() != "call 2026-11-30 #881" || cs[0].GetRecordedBy() != "service_agent" ||
		cs[1].GetGranted() || cs[2].GetWordingVersion() != "survey-2026-01" || cs[2].GetChannel() != ledgerv1.ContactChannel_CONTACT_CHANNEL_POS ||
		cs[2].GetEvidence() != "signature pad #17" || cs[2].GetRecordedBy() != "pos" || !cs[2].GetGranted() {
		t.Errorf("consent history %v", cs)
	}
	_, err = e.members("pos").ListConsents(ctx, &ledgerv1.ListConsentsRequest{MemberId: m})
	testkit.WantCode(t, err, codes.PermissionDenied)
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE object_id = $1 AND action IN ('consent.record', 'consent.withdraw')`, m); n != 2 {
		t.Errorf("%d consent changes audited, want 2", n)
	}
	testkit.Eventually(t, 10*time.Second, "two consent changes announced", func() bool {
		evs := published[*ledgerv1.MemberConsentChanged](e)
		return len(evs) == 2 && !evs[0].GetSurveyConsent() && !evs[0].GetMarketingConsent() && evs[1].GetMarketingConsent() &&
			evs[0].GetMemberId() == m
	})
	// Withdrawing what is withdrawn records it again and announces nothing new.
	if _, err := e.members("service").WithdrawConsent(ctx, &ledgerv1.WithdrawConsentRequest{
		MemberId: m, Purpose: ledgerv1.ConsentPurpose_CONSENT_PURPOSE_SURVEY, Channel: ledgerv1.ContactChannel_CONTACT_CHANNEL_EMAIL}); err != nil {
		t.Fatal(err)
	}
	if n := e.db.Count(`SELECT count(*) FROM consent_records WHERE member_id = $1`, m); n != 4 {
		t.Errorf("%d consent records, want 4", n)
	}
}

// TestSearchMembersPaged: staff page through members by name, email or identifier
// prefix; pages neither repeat nor skip.
func TestSearchMembersPaged(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	var want []string
	for i := range 5 {
		want = append(want, e.enrollWith(fmt.Sprintf("Searchable%d", i), card(fmt.Sprintf("SRCH-%04d", i))).GetMember().GetMemberId())
	}
	e.enrollWith("Other", card("OTHR-0001"))

	page := func(role, q string, size int32) []string {
		t.Helper()
		var ids []string
		token := ""
		for range 10 {
			resp, err := e.members(role).SearchMembers(ctx, &ledgerv1.SearchMembersRequest{Query: q, PageSize: size, PageToken: token})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			if len(resp.GetMembers()) > int(size) {
				t.Fatalf("page of %d, asked %d", len(resp.GetMembers()), size)
			}
			for _, p := range resp.GetMembers() {
				ids = append(ids, p.GetMember().GetMemberId())
			}
			if token = resp.GetNextPageToken(); token == "" {
				return ids
			}
		}
		t.Fatal("search never ended")
		return nil
	}
	for _, q := range []string{"searchable", "SEARCHABLE", "srch-", "srch", "searchable"} {
		if got := page("service_agent", q, 2); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("search %q found %v, want %v", q, got, want)
		}
	}
	if got := page("auditor", "searchable3@example", 2); len(got) != 1 || got[0] != want[3] {
		t.Errorf("search by email found %v", got)
	}
	if got := page("admin", "", 4); len(got) != 6 {
		t.Errorf("listing every member found %d, want 6", len(got))
	}
	if got := page("admin", "50%_", 4); len(got) != 0 {
		t.Errorf("wildcards matched %v", got)
	}
	resp, err := e.members("admin").SearchMembers(ctx, &ledgerv1.SearchMembersRequest{Query: "SRCH-0002"})
	if err != nil || len(resp.GetMembers()) != 1 || len(resp.GetMembers()[0].GetIdentifiers()) != 1 ||
		resp.GetMembers()[0].GetMember().GetDisplayName() != "Searchable2" {
		t.Errorf("search by a whole card = %v, %v", resp, err)
	}
	_, err = e.members("pos").SearchMembers(ctx, &ledgerv1.SearchMembersRequest{Query: "s"})
	testkit.WantCode(t, err, codes.PermissionDenied)
	_, err = e.members("admin").SearchMembers(ctx, &ledgerv1.SearchMembersRequest{PageToken: "garbage"})
	testkit.WantCode(t, err, codes.InvalidArgument)
}

// TestUpdateMember: staff set the tags and attributes earning rules read, and the name
// or locale; only what the mask names changes; every change is audited.
func TestUpdateMember(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	m := e.enroll("Gina")
	up, err := e.members("service_agent").UpdateMember(ctx, &ledgerv1.UpdateMemberRequest{
		MemberId: m, UpdateMask: []string{"tags", "attributes"}, Tags: []string{"vip", "coffee-lover", "vip"},
		Attributes: map[string]string{"home_store": "berlin-01"}, DisplayName: "ignored", Note: "ticket 12"})
	if err != nil {
		t.Fatal(err)
	}
	p := up.GetProfile()
	if strings.Join(p.GetTags(), ",") != "coffee-lover,vip" || p.GetAttributes()["home_store"] != "berlin-01" || p.GetMember().GetDisplayName() != "Gina" {
		t.Errorf("profile after the update %v", p)
	}
	var tags []string
	var attrs map[string]string
	if err := e.db.QueryRow(ctx, `SELECT tags, attributes FROM members WHERE id = $1`, m).Scan(&tags, &attrs); err != nil ||
		len(tags) != 2 || attrs["home_store"] != "berlin-01" {
		t.Errorf("stored tags %v, attributes %v, %v", tags, attrs, err)
	}
	if _, err := e.members("admin").UpdateMember(ctx, &ledgerv1.UpdateMemberRequest{MemberId: m, UpdateMask: []string{"display_name", "locale"},
		DisplayName: "Gina B.", Locale: "it-IT"}); err != nil {
		t.Fatal(err)
	}
	got, _ := e.ledger("admin").GetMember(ctx, &ledgerv1.GetMemberRequest{MemberId: m})
	if got.GetMember().GetDisplayName() != "Gina B." || got.GetMember().GetLocale() != "it-IT" {
		t.Errorf("member after the update %v", got)
	}
	for _, bad := range []*ledgerv1.UpdateMemberRequest{
		{MemberId: m},
		{MemberId: m, UpdateMask: []string{"email"}},
		{MemberId: m, UpdateMask: []string{"tags"}, Tags: []string{"has space"}},
		{MemberId: m, UpdateMask: []string{"display_name"}, DisplayName: "  "},
	} {
		_, err := e.members("admin").UpdateMember(ctx, bad)
		testkit.WantCode(t, err, codes.InvalidArgument)
	}
	_, err = e.members("marketing").UpdateMember(ctx, &ledgerv1.UpdateMemberRequest{MemberId: m, UpdateMask: []string{"tags"}})
	testkit.WantCode(t, err, codes.PermissionDenied)
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE action = 'member.update' AND object_id = $1`, m); n != 2 {
		t.Errorf("%d updates audited, want 2", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE after::text LIKE '%Gina%' OR before::text LIKE '%Gina%'`); n != 0 {
		t.Errorf("the audit log holds the member's name")
	}
}

// TestConcurrentClaimsCreditOnce: members racing to claim one receipt, and enrolments
// racing for one card: one wins, the others are refused, the receipt is credited once.
func TestConcurrentClaimsCreditOnce(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	e.WaitHandled(service.ConsumerPOS, e.publishPurchase(purchase("S1", "T1", "card:RACE-0001", 5000)))
	const n = 6
	members := make([]string, n)
	for i := range members {
		members[i] = e.enroll(fmt.Sprintf("Racer%d", i))
	}
	errs := make(chan error, n)
	for i, m := range members {
		go func() {
			_, err := e.members("service").ClaimPurchase(ctx, &ledgerv1.ClaimPurchaseRequest{
				IdempotencyKey: fmt.Sprintf("race-claim-%d", i), MemberId: m, StoreId: "S1", TransactionId: "T1", TotalMinor: 5000})
			errs <- err
		}()
	}
	won := 0
	for range n {
		switch err := <-errs; status.Code(err) {
		case codes.OK:
			won++
		case codes.AlreadyExists:
		default:
			t.Errorf("a racing claim: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d claims won, want 1", won)
	}
	if got := e.db.Count(`SELECT count(*) FROM transactions WHERE reference = 'S1/T1'`); got != 1 {
		t.Errorf("%d credits of the receipt, want 1", got)
	}

	for i := range n {
		go func() {
			_, err := e.ledger("admin").Enroll(ctx, &ledgerv1.EnrollRequest{IdempotencyKey: fmt.Sprintf("race-enrol-%d", i),
				DisplayName: "Card Racer", Email: "racer@example.com", Identifiers: []*ledgerv1.Identifier{card("RACE-0002")}})
			errs <- err
		}()
	}
	won = 0
	for range n {
		switch err := <-errs; status.Code(err) {
		case codes.OK:
			won++
		case codes.AlreadyExists:
		default:
			t.Errorf("a racing enrolment: %v", err)
		}
	}
	if won != 1 || e.db.Count(`SELECT count(*) FROM member_identifiers WHERE value = 'RACE0002'`) != 1 {
		t.Errorf("%d enrolments with one card won, want 1", won)
	}
	checkInvariants(t, e)
}
