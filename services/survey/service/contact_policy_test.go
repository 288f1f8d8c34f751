package service_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/service"
)

// suppressedFor waits for the suppression event of a member with a reason.
func (e *env) suppressedFor(member string, reason surveyv1.SuppressionReason) *surveyv1.InvitationSuppressed {
	e.t.Helper()
	return testkit.WaitEvent(e.Env, subject[*surveyv1.InvitationSuppressed](), func(ev *surveyv1.InvitationSuppressed) bool {
		return ev.GetMemberId() == member && ev.GetReason() == reason
	})
}

// suppressions lists a member's suppressions through the API.
func (e *env) suppressions(member string, reason surveyv1.SuppressionReason) []*surveyv1.Suppression {
	e.t.Helper()
	resp, err := e.rules().ListSuppressions(testkit.Ctx(e.t), &surveyv1.ListSuppressionsRequest{MemberId: member, Reason: reason})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.GetSuppressions()
}

func TestContactPolicyAtTriggerTime(t *testing.T) {
	t.Parallel()
	e := start(t)
	capped, noConsent, erased := uuid.NewString(), uuid.NewString(), uuid.NewString()
	e.enroll(capped, "en", true)
	e.enroll(noConsent, "en", false)
	e.enroll(erased, "en", true)
	e.erase(erased)

	// Frequency cap: the second touchpoint within the interval is held back, recorded
	// and announced.
	e.record(&surveyv1.RecordTouchpointRequest{MemberId: capped})
	second := e.record(&surveyv1.RecordTouchpointRequest{MemberId: capped, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SALES_CALL, StoreId: "S3"})
	if second.GetOutcome() != "SUPPRESSED_FREQUENCY_CAP" || second.GetInvitation() != nil {
		t.Errorf("second touchpoint: %v", second)
	}
	ev := e.suppressedFor(capped, surveyv1.SuppressionReason_SUPPRESSION_REASON_FREQUENCY_CAP)
	if ev.GetInvitationId() != "" || ev.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_SALES_CALL || ev.GetTriggerId() == "" {
		t.Errorf("event = %v", ev)
	}
	if list := e.suppressions(capped, surveyv1.SuppressionReason_SUPPRESSION_REASON_FREQUENCY_CAP); len(list) != 1 ||
		list[0].GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_SALES_CALL {
		t.Errorf("suppressions of the capped member: %v", list)
	}
	if list := e.suppressions(capped, surveyv1.SuppressionReason_SUPPRESSION_REASON_NO_CONSENT); len(list) != 0 {
		t.Errorf("filtered by another reason: %v", list)
	}

	// No consent.
	if got := e.record(&surveyv1.RecordTouchpointRequest{MemberId: noConsent}).GetOutcome(); got != "SUPPRESSED_NO_CONSENT" {
		t.Errorf("no consent: %q", got)
	}
	e.suppressedFor(noConsent, surveyv1.SuppressionReason_SUPPRESSION_REASON_NO_CONSENT)

	// Erased: never; nothing of the member is kept with the suppression.
	if got := e.record(&surveyv1.RecordTouchpointRequest{MemberId: erased}).GetOutcome(); got != "SUPPRESSED_ERASED" {
		t.Errorf("erased: %q", got)
	}
	if n := e.invitationsOf(erased); n != 0 {
		t.Errorf("erased member has %d invitations", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM suppressions WHERE reason = 'ERASED' AND member_id IS NULL`); n != 1 {
		t.Errorf("%d anonymous ERASED suppressions, want 1", n)
	}

	// Paging through all suppressions, newest first.
	resp, err := e.rules().ListSuppressions(testkit.Ctx(t), &surveyv1.ListSuppressionsRequest{PageSize: 2})
	if err != nil || len(resp.GetSuppressions()) != 2 || resp.GetNextPageToken() == "" {
		t.Fatalf("first page: %v, %v", resp, err)
	}
	rest, err := e.rules().ListSuppressions(testkit.Ctx(t), &surveyv1.ListSuppressionsRequest{PageSize: 2, PageToken: resp.GetNextPageToken()})
	if err != nil || len(rest.GetSuppressions()) != 1 || rest.GetNextPageToken() != "" {
		t.Errorf("second page: %v, %v", rest, err)
	}
	if resp.GetSuppressions()[0].GetReason() != surveyv1.SuppressionReason_SUPPRESSION_REASON_ERASED {
		t.Errorf("newest first: %v", resp.GetSuppressions()[0])
	}
}

func TestOpenCaseHoldsSurveysBack(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := uuid.NewString()
	e.enroll(member, "en", true)
	caseID := "CASE-" + uuid.NewString()[:8]
	opened := time.Now().Add(-time.Hour)
	e.WaitHandled(service.ConsumerCases, e.publish(uuid.NewString(), &feedbackv1.CaseOpened{
		CaseId: caseID, MemberId: member, Score: 3, OpenedAt: timestamppb.New(opened),
	}))
	if got := e.record(&surveyv1.RecordTouchpointRequest{MemberId: member}).GetOutcome(); got != "SUPPRESSED_OPEN_CASE" {
		t.Errorf("with an open case: %q", got)
	}
	e.suppressedFor(member, surveyv1.SuppressionReason_SUPPRESSION_REASON_OPEN_CASE)
	// The member's export shows the open case, the suppression and the contact details.
	data := e.mustExport("privacy", member)
	if m, _ := data["member"].(map[string]any); m["email"] != "erika@example.test" {
		t.Errorf("exported member = %v", m)
	}
	if sup := list(data, "suppressions"); len(sup) != 1 || sup[0]["reason"] != "OPEN_CASE" {
		t.Errorf("exported suppressions = %v", sup)
	}
	if cases, _ := data["open_cases"].([]any); len(cases) != 1 || cases[0] != caseID {
		t.Errorf("exported open cases = %v", data["open_cases"])
	}

	// Resolved: the member may be asked again, and the resolution is a touchpoint.
	e.WaitHandled(service.ConsumerCases, e.publish(uuid.NewString(), &feedbackv1.CaseResolved{
		CaseId: caseID, MemberId: member, OpenedAt: timestamppb.New(opened), ResolvedAt: timestamppb.Now(),
	}))
	inv := e.invitationFor(member)
	if inv.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_CASE_RESOLVED {
		t.Errorf("invitation after the resolution: %v", inv)
	}
	if n := e.db.Count(`SELECT count(*) FROM open_cases`); n != 0 {
		t.Errorf("%d open cases, want 0", n)
	}
	// Erasure keeps the suppression as a count, without the member.
	e.WaitHandled(service.ConsumerCases, e.publish(uuid.NewString(), &feedbackv1.CaseOpened{
		CaseId: caseID + "-2", MemberId: member, Score: 2, OpenedAt: timestamppb.Now(),
	}))
	e.erase(member)
	if n := e.db.Count(`SELECT count(*) FROM suppressions WHERE member_id = $1`, member) +
		e.db.Count(`SELECT count(*) FROM open_cases WHERE member_id = $1`, member); n != 0 {
		t.Errorf("%d suppressions or open cases still name the erased member", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM suppressions WHERE member_id IS NULL AND reason = 'OPEN_CASE'`); n != 1 {
		t.Errorf("%d anonymous OPEN_CASE suppressions, want 1", n)
	}
}

// purchaseRule makes purchases earn an invitation two days later (so that it is still
// scheduled when the return arrives).
func (e *env) purchaseRule() {
	e.t.Helper()
	e.onlyRules()
	s := spec("NPS two days after a purchase", commonv1.Touchpoint_TOUCHPOINT_PURCHASE)
	s.Delay = durationpb.New(48 * time.Hour)
	e.createRule(s)
}

func returnOf(p *posv1.PurchaseRecorded) *posv1.ReturnRecorded {
	return &posv1.ReturnRecorded{EventId: uuid.NewString(), StoreId: p.GetStoreId(), ReturnId: "R-" + uuid.NewString()[:8],
		OriginalTransactionId: p.GetTransactionId(), MemberId: p.GetMemberId(), OccurredAt: timestamppb.Now(), Currency: "EUR"}
}

func TestReturnedPurchaseIsNotSurveyed(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.purchaseRule()
	member, early := uuid.NewString(), uuid.NewString()
	e.enrollAll([]string{member, early}, "")

	// The return cancels the scheduled invitation.
	p := purchase("S1", member)
	e.buy(p)
	inv := e.invitationFor(member)
	e.WaitHandled(service.ConsumerReturns, e.publish(uuid.NewString(), returnOf(p)))
	ev := e.suppressedFor(member, surveyv1.SuppressionReason_SUPPRESSION_REASON_RETURNED)
	if ev.GetInvitationId() != inv.GetInvitationId() {
		t.Errorf("suppressed %v, want the invitation %s", ev, inv.GetInvitationId())
	}
	if n := e.db.Count(`SELECT count(*) FROM invitations WHERE id = $1::uuid AND status = 'SUPPRESSED' AND suppressed_reason = 'RETURNED'`,
		inv.GetInvitationId()); n != 1 {
		t.Error("the invitation is not suppressed")
	}
	if list := e.suppressions(member, surveyv1.SuppressionReason_SUPPRESSION_REASON_RETURNED); len(list) != 1 ||
		list[0].GetTouchpointKey() != "pos:S1:"+p.GetTransactionId() || list[0].GetInvitationId() != inv.GetInvitationId() {
		t.Errorf("suppressions: %v", list)
	}

	// A return that arrives before its purchase's trigger wins too.
	q := purchase("S2", early)
	e.WaitHandled(service.ConsumerReturns, e.publish(uuid.NewString(), returnOf(q)))
	e.buy(q)
	e.suppressedFor(early, surveyv1.SuppressionReason_SUPPRESSION_REASON_RETURNED)
	if n := e.invitationsOf(early); n != 0 {
		t.Errorf("a returned purchase earned %d invitations", n)
	}
}

// A purchase identified by a card comes with its member from the ledger's match.
func TestPurchaseByCardIsMatchedByTheLedger(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := uuid.NewString()
	e.enroll(member, "en", true)
	p := purchase("S4", "CARD-4711")
	p.EmployeeId = "E-9"
	e.buy(p)
	if n := e.db.Count(`SELECT count(*) FROM pending_triggers`) + e.db.Count(`SELECT count(*) FROM invitations`); n != 0 {
		t.Fatalf("a purchase by card was taken as a member's (%d rows)", n)
	}
	e.WaitHandled(service.ConsumerMatched, e.publish(uuid.NewString(), &ledgerv1.PurchaseMatched{
		MemberId: member, StoreId: p.GetStoreId(), TransactionId: p.GetTransactionId(), PosEventId: p.GetEventId(),
		TotalMinor: p.GetTotalMinor(), Currency: "EUR", Channel: commonv1.Channel_CHANNEL_STORE, EmployeeId: "E-9",
		OccurredAt: p.GetOccurredAt(),
	}))
	inv := e.invitationFor(member)
	if inv.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_PURCHASE || inv.GetStoreId() != "S4" || inv.GetEmployeeId() != "E-9" ||
		inv.GetTouchpointKey() != "pos:S4:"+p.GetTransactionId() || inv.GetTriggerEventId() != p.GetEventId() {
		t.Errorf("invitation = %v", inv)
	}
}

// The member copy follows updates and tier changes (the later wins), and rules read it.
func TestMemberCopyFeedsRules(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.onlyRules()
	gold := spec("gold members only")
	gold.Condition = `member.tier == "gold" && "newsletter" in member.tags`
	e.createRule(gold)
	member := uuid.NewString()
	enrolled := time.Now().Add(-time.Hour)
	e.WaitHandled(service.ConsumerMembers, e.publish(uuid.NewString(), &ledgerv1.MemberEnrolled{
		MemberId: member, Email: "m@example.test", Locale: "de-DE", SurveyConsent: true, Tier: "silver",
		TimeZone: "Europe/Berlin", Phone: "+4930123", Tags: []string{"newsletter"}, EnrolledAt: timestamppb.New(enrolled),
	}))
	if got := e.record(&surveyv1.RecordTouchpointRequest{MemberId: member}).GetOutcome(); got != "NO_RULE" {
		t.Errorf("silver: %q, want NO_RULE", got)
	}
	e.WaitHandled(service.ConsumerMembers, e.publish(uuid.NewString(), &ledgerv1.MemberTierChanged{
		MemberId: member, FromTier: "silver", ToTier: "gold", Reason: ledgerv1.TierChangeReason(1), EffectiveAt: timestamppb.New(enrolled.Add(time.Minute)),
	}))
	// An older update (delivered late) changes the profile only where it is newer: it
	// is older than the tier change, so the tier stays.
	e.WaitHandled(service.ConsumerMembers, e.publish(uuid.NewString(), &ledgerv1.MemberUpdated{
		MemberId: member, Email: "new@example.test", Locale: "de-DE", TimeZone: "Europe/Vienna", Tier: "silver",
		Tags: []string{"newsletter", "app"}, UpdatedAt: timestamppb.New(enrolled.Add(30 * time.Second)),
	}))
	if n := e.db.Count(`SELECT count(*) FROM members WHERE member_id = $1 AND tier = 'gold' AND email = 'new@example.test'
		AND time_zone = 'Europe/Vienna' AND phone = '' AND tags = '{newsletter,app}'`, member); n != 1 {
		var row string
		_ = e.db.QueryRow(testkit.Ctx(t), `SELECT row_to_json(m)::text FROM members m WHERE member_id = $1`, member).Scan(&row)
		t.Errorf("member copy = %s", row)
	}
	if got := e.record(&surveyv1.RecordTouchpointRequest{MemberId: member}).GetOutcome(); got != "SCHEDULED" {
		t.Errorf("gold: %q, want SCHEDULED", got)
	}
}
