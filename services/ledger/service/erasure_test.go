package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	"github.com/treue/treue/services/ledger/service"
)

// programTotals reads the balances of the programme accounts, from the postings.
func (e *env) programTotals() map[string]int64 {
	e.t.Helper()
	rows, err := e.db.Query(testkit.Ctx(e.t), `SELECT account, balance FROM program_balances`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			name    string
			balance int64
		)
		if err := rows.Scan(&name, &balance); err != nil {
			e.t.Fatal(err)
		}
		out[name] = balance
	}
	return out
}

func (e *env) privacy(role string) privacyv1.PrivacyServiceClient {
	return privacyv1.NewPrivacyServiceClient(e.Conn(e.cur.Service.GRPCAddr(), role))
}

// TestEraseMember: only admin and privacy may erase; the erasure removes the member's
// personal data from the ledger's tables, keeps every posting (balances and programme
// totals do not move), records its time and reason once, and announces it once. After
// it the ledger books nothing more for the member.
func TestEraseMember(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	enrol := &ledgerv1.EnrollRequest{IdempotencyKey: "enroll-greta-01", DisplayName: "Greta Garbo", Email: "greta@example.com",
		Locale: "sv-SE", SurveyConsent: true, MarketingConsent: true,
		Identifiers: []*ledgerv1.Identifier{card("GRETA-0001"), email("greta@example.com"), phone("+46 70 123 45 67")},
		ConsentEvidence: &ledgerv1.ConsentEvidence{Wording: "Ask me and send me offers.", WordingVersion: "v1",
			Channel: ledgerv1.ContactChannel_CONTACT_CHANNEL_WEB, Evidence: "ip 192.0.2.7, greta's browser"}}
	enrolled, err := e.ledger("admin").Enroll(ctx, enrol)
	if err != nil {
		t.Fatal(err)
	}
	m := enrolled.GetMember().GetMemberId()
	e.publishPurchase(purchase("S1", "T1", m, 10000))
	// Named by email: the reference the POS sent names the person.
	e.publishPurchase(purchase("S1", "T0", "email:greta@example.com", 1000))
	e.waitAvailable(m, 110)
	if _, err := e.members("admin").UpdateMember(ctx, &ledgerv1.UpdateMemberRequest{MemberId: m, UpdateMask: []string{"tags", "attributes"},
		Tags: []string{"film"}, Attributes: map[string]string{"birthday": "09-18"}}); err != nil {
		t.Fatal(err)
	}
	hold, err := e.ledger("service").PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-greta-1", MemberId: m, Points: 30})
	if err != nil {
		t.Fatal(err)
	}
	before, totals := e.balance(m), e.programTotals()

	erase := &ledgerv1.EraseMemberRequest{MemberId: m, Reason: "data subject request #4711"}
	for _, role := range []string{"marketing", "service_agent", "pos", "auditor", "service"} {
		_, err := e.ledger(role).EraseMember(ctx, erase)
		testkit.WantCode(t, err, codes.PermissionDenied)
	}
	_, err = e.ledger("").EraseMember(ctx, erase)
	testkit.WantCode(t, err, codes.Unauthenticated)
	_, err = e.ledger("privacy").EraseMember(ctx, &ledgerv1.EraseMemberRequest{MemberId: uuid.NewString(), Reason: "no such member"})
	testkit.WantCode(t, err, codes.NotFound)
	_, err = e.ledger("privacy").EraseMember(ctx, &ledgerv1.EraseMemberRequest{MemberId: m, Reason: "x"})
	testkit.WantCode(t, err, codes.InvalidArgument)

	first, err := e.ledger("privacy").EraseMember(ctx, erase)
	if err != nil {
		t.Fatal(err)
	}
	if first.GetMemberId() != m || first.GetErasedAt() == nil || first.GetReason() != erase.GetReason() {
		t.Errorf("erasure %v", first)
	}
	// Again, by another caller with another reason: the first erasure stands.
	again, err := e.ledger("admin").EraseMember(ctx, &ledgerv1.EraseMemberRequest{MemberId: strings.ToUpper(m), Reason: "asked twice"})
	if err != nil || !proto.Equal(again, first) {
		t.Errorf("erasing again = %v, %v; want the first erasure %v", again, err, first)
	}

	// The member's row keeps no personal data; its id and the postings stay.
	var name, email, hash, reason string
	var survey, marketing bool
	var erasedAt *time.Time
	if err := e.db.QueryRow(ctx, `SELECT display_name, email, request_hash, survey_consent, marketing_consent, erased_at, erasure_reason
		FROM members WHERE id = $1`, m).Scan(&name, &email, &hash, &survey, &marketing, &erasedAt, &reason); err != nil {
		t.Fatal(err)
	}
	if name != "" || email != "" || hash != "" || survey || marketing {
		t.Errorf("after the erasure the member's row holds name %q, email %q, request hash %q, consents %v/%v", name, email, hash, survey, marketing)
	}
	if erasedAt == nil || !erasedAt.Equal(first.GetErasedAt().AsTime()) || reason != erase.GetReason() {
		t.Errorf("recorded erasure at %v for %q, want %v for %q", erasedAt, reason, first.GetErasedAt().AsTime(), erase.GetReason())
	}
	if n := e.db.Count(`SELECT count(*) FROM members WHERE display_name LIKE '%Greta%' OR email LIKE '%greta%'`); n != 0 {
		t.Errorf("%d rows still name Greta", n)
	}
	// Her identifiers are gone, her consents' evidence too (the facts stay), and so are
	// her tags and attributes and the references the POS named her by.
	if n := e.db.Count(`SELECT count(*) FROM member_identifiers WHERE member_id = $1`, m); n != 0 {
		t.Errorf("%d identifiers left after the erasure", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM consent_records WHERE member_id = $1 AND evidence = '' AND wording_version = 'v1'`, m); n != 2 {
		t.Errorf("%d consent records kept without their evidence, want 2", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM members WHERE id = $1 AND tags = '{}' AND attributes = '{}'`, m); n != 1 {
		t.Error("the erased member keeps tags or attributes")
	}
	if n := e.db.Count(`SELECT count(*) FROM purchases WHERE member_ref LIKE '%greta%'`); n != 0 {
		t.Errorf("%d purchases still name Greta", n)
	}
	_, err = e.members("pos").LookupMember(ctx, &ledgerv1.LookupMemberRequest{Identifier: card("GRETA-0001")})
	testkit.WantCode(t, err, codes.NotFound)
	_, err = e.members("admin").AddIdentifier(ctx, &ledgerv1.AddIdentifierRequest{MemberId: m, Identifier: card("GRETA-0002")})
	testkit.WantCode(t, err, codes.NotFound)
	_, err = e.members("service").RecordConsent(ctx, &ledgerv1.RecordConsentRequest{MemberId: m, Purpose: ledgerv1.ConsentPurpose_CONSENT_PURPOSE_SURVEY,
		Wording: "w", WordingVersion: "v1", Channel: ledgerv1.ContactChannel_CONTACT_CHANNEL_WEB})
	testkit.WantCode(t, err, codes.NotFound)
	if after := e.balance(m); !proto.Equal(after, before) {
		t.Errorf("balance %v after the erasure, want %v", after, before)
	}
	if after := e.programTotals(); len(after) != len(totals) || after["program:issued"] != totals["program:issued"] {
		t.Errorf("programme totals %v after the erasure, want %v", after, totals)
	}

	got, err := e.ledger("auditor").GetMember(ctx, &ledgerv1.GetMemberRequest{MemberId: m})
	if err != nil {
		t.Fatal(err)
	}
	if g := got.GetMember(); g.GetErasedAt() == nil || g.GetDisplayName() != "" || g.GetEmail() != "" || g.GetMemberId() != m ||
		g.GetSurveyConsent() || g.GetMarketingConsent() || g.GetEnrolledAt() == nil {
		t.Errorf("GetMember of the erased member: %v", g)
	}
	// A late retry of the enrolment returns the erased member and enrols nobody again.
	retried, err := e.ledger("admin").Enroll(ctx, enrol)
	if err != nil || retried.GetMember().GetMemberId() != m || retried.GetMember().GetErasedAt() == nil || retried.GetMember().GetDisplayName() != "" {
		t.Errorf("enrolment retried after the erasure = %v, %v; want the erased member", retried, err)
	}
	if n := e.db.Count(`SELECT count(*) FROM members`); n != 1 {
		t.Errorf("%d members, want 1", n)
	}

	// The ledger books nothing more for the member: a purchase is kept unmatched, a
	// return of an earlier purchase debits nothing, no survey bonus, no new hold. The
	// hold placed before can still be captured.
	late := e.publishPurchase(purchase("S1", "T2", m, 5000))
	ret := e.publishReturn(posReturn("S1", "R1", "T1", m, 2000))
	bonus := e.send(uuid.NewString(), response(uuid.NewString(), m))
	e.WaitHandled(service.ConsumerPOS, late, ret)
	e.WaitHandled(service.ConsumerSurvey, bonus)
	if n := e.db.Count(`SELECT count(*) FROM unmatched_purchases WHERE transaction_id = 'T2' AND member_ref = $1`, m); n != 1 {
		t.Errorf("the purchase after the erasure: %d unmatched, want 1", n)
	}
	if got := e.returnRow("S1", "R1"); got.debited != 0 {
		t.Errorf("the return after the erasure debited %d", got.debited)
	}
	_, err = e.ledger("service").PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-greta-2", MemberId: m, Points: 1})
	testkit.WantCode(t, err, codes.NotFound)
	if _, err := e.ledger("service").CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: hold.GetHold().GetHoldId()}); err != nil {
		t.Errorf("capturing the hold placed before the erasure: %v", err)
	}
	if after := e.balance(m); after.GetAvailable() != before.GetAvailable() || after.GetHeld() != 0 {
		t.Errorf("balance %v after the capture, want %d available and nothing held", after, before.GetAvailable())
	}
	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE member_id = $1 AND kind IN ('credit', 'debit')`, m); n != 2 {
		t.Errorf("%d credits and debits for the member, want only the two purchases before the erasure", n)
	}
	// Her card names no one now: a purchase with it is kept unmatched.
	e.WaitHandled(service.ConsumerPOS, e.publishPurchase(purchase("S1", "T3", "card:GRETA-0001", 5000)))
	if n := e.db.Count(`SELECT count(*) FROM unmatched_purchases WHERE transaction_id = 'T3'`); n != 1 {
		t.Errorf("the purchase with the erased member's card: %d unmatched, want 1", n)
	}
	checkInvariants(t, e)

	// Announced once: the relay publishes in commit order, so once the enrolment of a
	// member who joins afterwards is out, a second erasure event would be too.
	other := e.enroll("Otto")
	testkit.Eventually(t, 10*time.Second, "the later enrolment to be published", func() bool {
		for _, ev := range published[*ledgerv1.MemberEnrolled](e) {
			if ev.GetMemberId() == other {
				return true
			}
		}
		return false
	})
	erased := published[*ledgerv1.MemberErased](e)
	if len(erased) != 1 || erased[0].GetMemberId() != m || !erased[0].GetErasedAt().AsTime().Equal(first.GetErasedAt().AsTime()) {
		t.Errorf("member.erased events %v, want one for %s at %v", erased, m, first.GetErasedAt().AsTime())
	}
	if n := len(published[*ledgerv1.MemberEnrolled](e)); n != 2 {
		t.Errorf("%d member.enrolled events, want 2 (the retried enrolment enrols nobody)", n)
	}
}

// TestExportMember: admin and privacy may export a member's data; the export holds the
// member, the balance, every transaction with its postings, the holds, purchases and
// returns; an unknown member's is empty; an erased member's shows the erasure and no
// personal data.
func TestExportMember(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	m := e.enrollWith("Hedy", card("HEDY-0001")).GetMember().GetMemberId()
	if _, err := e.members("service").RecordConsent(ctx, &ledgerv1.RecordConsentRequest{MemberId: m, Purpose: ledgerv1.ConsentPurpose_CONSENT_PURPOSE_SURVEY,
		Wording: "Ask me.", WordingVersion: "v1", Channel: ledgerv1.ContactChannel_CONTACT_CHANNEL_APP, Evidence: "form 7"}); err != nil {
		t.Fatal(err)
	}
	e.publishPurchase(purchase("S1", "T1", m, 10000))
	e.WaitHandled(service.ConsumerPOS, e.publishReturn(posReturn("S1", "R1", "T1", m, 2000)))
	e.WaitHandled(service.ConsumerSurvey, e.send(uuid.NewString(), response("resp-0001", m)))
	e.waitAvailable(m, 100-20+50)
	if _, err := e.ledger("service").PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-hedy-1", MemberId: m, Points: 30, Reference: "reward-7"}); err != nil {
		t.Fatal(err)
	}

	req := &privacyv1.ExportMemberRequest{MemberId: m}
	for _, role := range []string{"marketing", "service_agent", "pos", "auditor", "service"} {
		_, err := e.privacy(role).ExportMember(ctx, req)
		testkit.WantCode(t, err, codes.PermissionDenied)
	}
	_, err := e.privacy("").ExportMember(ctx, req)
	testkit.WantCode(t, err, codes.Unauthenticated)

	export := func(role, member string) map[string]any {
		t.Helper()
		resp, err := e.privacy(role).ExportMember(ctx, &privacyv1.ExportMemberRequest{MemberId: member})
		if err != nil {
			t.Fatalf("ExportMember as %s: %v", role, err)
		}
		if resp.GetService() != service.Name || resp.GetMemberId() != member || resp.GetExportedAt() == nil {
			t.Errorf("export header %v", resp)
		}
		return resp.GetData().AsMap()
	}
	for _, unknown := range []string{uuid.NewString(), "loyalty-card-42"} {
		if data := export("privacy", unknown); len(data) != 0 {
			t.Errorf("export of an unknown member %q: %v, want empty", unknown, data)
		}
	}

	data := export("privacy", m)
	member := data["member"].(map[string]any)
	if member["member_id"] != m || member["display_name"] != "Hedy" || member["email"] != "hedy@example.com" ||
		member["tier"] == "" || member["enrolled_at"] == "" || member["erased_at"] != nil {
		t.Errorf("exported member %v", member)
	}
	if b := data["balance"].(map[string]any); b["available"] != float64(100) || b["held"] != float64(30) {
		t.Errorf("exported balance %v, want 100 available and 30 held", b)
	}
	txs := data["transactions"].([]any)
	if len(txs) != 4 { // the purchase, the return, the survey bonus, the hold
		t.Errorf("%d transactions exported, want 4: %v", len(txs), txs)
	}
	for _, x := range txs {
		if ps := x.(map[string]any)["postings"].([]any); len(ps) != 1 || ps[0].(map[string]any)["amount"] == nil {
			t.Errorf("transaction without its postings: %v", x)
		}
	}
	holds := data["holds"].([]any)
	if len(holds) != 1 || holds[0].(map[string]any)["reference"] != "reward-7" || holds[0].(map[string]any)["status"] != "placed" {
		t.Errorf("exported holds %v", holds)
	}
	purchases := data["purchases"].([]any)
	if len(purchases) != 1 || purchases[0].(map[string]any)["points_returned"] != float64(20) ||
		len(purchases[0].(map[string]any)["lines"].([]any)) != 1 {
		t.Errorf("exported purchases %v", purchases)
	}
	if returns := data["returns"].([]any); len(returns) != 1 || returns[0].(map[string]any)["debited"] != float64(20) {
		t.Errorf("exported returns %v", returns)
	}
	if ids := data["identifiers"].([]any); len(ids) != 1 || ids[0].(map[string]any)["value"] != "HEDY0001" {
		t.Errorf("exported identifiers %v", ids)
	}
	if cs := data["consents"].([]any); len(cs) != 1 || cs[0].(map[string]any)["evidence"] != "form 7" || cs[0].(map[string]any)["purpose"] != "survey" {
		t.Errorf("exported consents %v", cs)
	}
	if admin := export("admin", m); !proto.Equal(mustStruct(t, admin), mustStruct(t, data)) {
		t.Errorf("the export as admin differs from the one as privacy")
	}

	// After the erasure: the same records under the pseudonymous id, no name or email,
	// and the erasure itself; a purchase that named the member afterwards shows as kept
	// unmatched.
	if _, err := e.ledger("privacy").EraseMember(ctx, &ledgerv1.EraseMemberRequest{MemberId: m, Reason: "right to erasure"}); err != nil {
		t.Fatal(err)
	}
	e.WaitHandled(service.ConsumerPOS, e.publishPurchase(purchase("S1", "T2", m, 3000)))
	data = export("privacy", m)
	member = data["member"].(map[string]any)
	if member["display_name"] != "" || member["email"] != "" || member["erased_at"] == nil || member["erasure_reason"] != "right to erasure" {
		t.Errorf("exported erased member %v", member)
	}
	if len(data["identifiers"].([]any)) != 0 || data["consents"].([]any)[0].(map[string]any)["evidence"] != nil {
		t.Errorf("the erased member's export keeps identifiers or consent evidence: %v", data)
	}
	if len(data["transactions"].([]any)) != 4 || len(data["purchases"].([]any)) != 1 || len(data["holds"].([]any)) != 1 {
		t.Errorf("the erased member's records changed: %v", data)
	}
	if u := data["unmatched_purchases"].([]any); len(u) != 1 || u[0].(map[string]any)["transaction_id"] != "T2" {
		t.Errorf("exported unmatched purchases %v, want T2", u)
	}
	if strings.Contains(mustJSON(t, data), "hedy") {
		t.Errorf("the erased member's export still names them: %v", data)
	}
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustJSON(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := mustStruct(t, m).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToLower(string(b))
}
