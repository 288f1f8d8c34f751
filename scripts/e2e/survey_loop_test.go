package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the members' time zones, whatever the host has installed

	"github.com/chromedp/chromedp"
	qr "github.com/skip2/go-qrcode"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/pkg/testkit/browser"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	survey "github.com/treue/treue/services/survey/service"
)

// The seeded surveys (survey migration 00004).
const (
	npsSurvey  = "0192f0c8-5a1e-7000-8000-000000000001"
	csatSurvey = "0192f0c8-5a1e-7000-8000-000000000002"
)

// TestSurveyLoopEndToEnd gets the right question to the right customer at the right
// moment, with all five services, a real SMTP server and a real browser:
//
//   - a service call published on the TOUCHPOINT stream as a contact centre does
//     (protojson, as the nats CLI sends it) meets a trigger rule made through the API
//     (two seconds' delay); no email before the delay, then one (HTML and text, in the
//     member's language); its link answered in headless Chromium with a 4 and a reason;
//     the response carries store, employee, touchpoint and version; the feedback service
//     opens a call-back case attributed to the employee; reporting counts it;
//   - where it is night for the member, the email waits for the end of the quiet hours;
//   - a purchase that names its member by a loyalty card is matched by the ledger and
//     scheduled for that member, and its return before the delay suppresses it;
//   - a receipt's QR code for an anonymous purchase encodes a link that answers once.
func TestSurveyLoopEndToEnd(t *testing.T) {
	mailbox := testkit.StartSMTP(t)
	sys := &system{Env: testkit.NewEnv(t)}
	sys.tuneSurvey = func(c *survey.Config) {
		c.Delivery.SMTPAddr = mailbox.Addr() // loopback: no TLS
		c.Delivery.MailFrom = "Treue <surveys@treue.example>"
	}
	startIn(t, sys)
	ctx := context.Background()
	ledgerAPI := ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "admin"))
	triggers := surveyv1.NewTriggerServiceClient(sys.Conn(sys.survey, "marketing"))
	surveyAdmin := surveyv1.NewSurveyServiceClient(sys.Conn(sys.survey, "admin"))
	mailer := surveyv1.NewSurveyServiceClient(sys.Conn(sys.survey, "service")) // sees the links
	till := surveyv1.NewSurveyServiceClient(sys.Conn(sys.survey, "pos"))
	feedbackAPI := feedbackv1.NewFeedbackServiceClient(sys.Conn(sys.feedback, "service_agent"))
	reportAPI := reportingv1.NewReportingServiceClient(sys.Conn(sys.rept, "auditor"))
	shots := artefacts(t)

	// Two members: Clara reads German, Dora has a loyalty card. Both live where it is
	// day now, so that quiet hours hold nothing back.
	zone := dayZone(t)
	enrolled, err := ledgerAPI.Enroll(ctx, &ledgerv1.EnrollRequest{
		IdempotencyKey: "e2e-survey-clara", DisplayName: "Clara", Email: "clara@example.com", Locale: "de",
		SurveyConsent: true, TimeZone: zone,
	})
	must(t, err)
	clara := enrolled.Member.MemberId
	const card = "4000 7777 1234"
	enrolled, err = ledgerAPI.Enroll(ctx, &ledgerv1.EnrollRequest{
		IdempotencyKey: "e2e-survey-dora", DisplayName: "Dora", Email: "dora@example.com", Locale: "en",
		SurveyConsent: true, TimeZone: zone,
		Identifiers: []*ledgerv1.Identifier{{Kind: ledgerv1.IdentifierKind_IDENTIFIER_KIND_CARD, Value: card}},
	})
	must(t, err)
	dora := enrolled.Member.MemberId
	testkit.Eventually(t, 20*time.Second, "the survey knows both members", func() bool {
		return sys.db.Count(`SELECT count(*) FROM survey.members WHERE member_id IN ($1, $2) AND time_zone = $3 AND email <> ''`,
			clara, dora, zone) == 2
	})

	// The rules, as marketing defines them: NPS two seconds after a service call in
	// Berlin, by email; CSAT two days after a purchase of 10 EUR or more. Both outrank
	// the seeded rule (every contact, at once).
	const delay = 2 * time.Second
	callRule, err := triggers.CreateTriggerRule(ctx, &surveyv1.CreateTriggerRuleRequest{
		IdempotencyKey: "e2e-rule-service-call", Active: true,
		Spec: &surveyv1.TriggerRuleSpec{
			Name: "NPS after a service call in Berlin", Touchpoints: []commonv1.Touchpoint{commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL},
			Condition: `touchpoint.store == "berlin-01"`, SurveyId: npsSurvey, Delay: durationpb.New(delay), SamplingRate: 1,
			Channels: []surveyv1.DeliveryChannel{surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL}, Priority: 10,
		},
	})
	must(t, err)
	purchaseRule, err := triggers.CreateTriggerRule(ctx, &surveyv1.CreateTriggerRuleRequest{
		IdempotencyKey: "e2e-rule-purchase", Active: true,
		Spec: &surveyv1.TriggerRuleSpec{
			Name: "CSAT two days after a purchase", Touchpoints: []commonv1.Touchpoint{commonv1.Touchpoint_TOUCHPOINT_PURCHASE},
			Condition: `touchpoint.amount_minor >= 1000`, SurveyId: csatSurvey, Delay: durationpb.New(48 * time.Hour), SamplingRate: 1,
			Channels: []surveyv1.DeliveryChannel{surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL}, Priority: 10,
		},
	})
	must(t, err)

	t.Run("a service call: email after the delay, answered in the browser, a case for the employee", func(t *testing.T) {
		// The contact centre publishes the call as JSON, as `nats pub` would:
		//   nats pub touchpoint.contact.recorded.service_call -H Content-Type:application/json -H Nats-Msg-Id:<id> '{...}'
		eventID := uuid.Must(uuid.NewV7()).String()
		occurred := time.Now().UTC()
		const subject = "touchpoint.contact.recorded.service_call"
		body := fmt.Sprintf(`{"eventId":%q,"memberId":%q,"touchpoint":"TOUCHPOINT_SERVICE_CALL","storeId":"berlin-01",`+
			`"employeeId":"emp-042","reference":"CALL-7781","occurredAt":%q,"channel":"CHANNEL_STORE"}`,
			eventID, clara, occurred.Format(time.RFC3339Nano))
		sys.PublishRaw(testkit.Raw{Subject: subject, ID: eventID, ContentType: "application/json", Data: []byte(body)})

		// Scheduled for the end of the delay, attributed to the call.
		inv := waitInvitation(t, mailer, clara, "scheduled", func(i *surveyv1.Invitation) bool { return i != nil })
		due := occurred.Add(delay)
		if inv.GetStatus() == surveyv1.InvitationStatus_INVITATION_STATUS_SCHEDULED && time.Now().Before(due.Add(-200*time.Millisecond)) {
			if n := len(mailbox.Messages()); n != 0 {
				t.Fatalf("%d emails before the delay", n)
			}
		}
		if !dueAfter(inv, due) {
			t.Errorf("due at %v, want the whole second at or after %v (the call and the delay)", inv.GetDueAt().AsTime(), due)
		}
		if inv.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL || inv.GetStoreId() != "berlin-01" ||
			inv.GetEmployeeId() != "emp-042" || inv.GetTriggerId() != callRule.Rule.TriggerId || inv.GetSurveyId() != npsSurvey ||
			inv.GetSurveyVersion() != 1 {
			t.Errorf("invitation %v", inv)
		}

		// After the delay, one email in German, HTML and text, with the link and a way out.
		m := mailbox.WaitFor(t, func(m testkit.Mail) bool { return len(m.To) == 1 && m.To[0] == "clara@example.com" }, 30*time.Second)
		t.Logf("the email arrived %v after the call (delay %v)", m.Received.Sub(occurred).Round(time.Millisecond), delay)
		if m.Received.Before(due) {
			t.Errorf("the email arrived at %v, before the delay ended at %v", m.Received, due)
		}
		// The survey version's own subject, in the member's language.
		if m.Subject != "Wie waren wir?" || m.Header.Get("Content-Language") != "de" ||
			m.Header.Get("Message-Id") != "<"+inv.GetInvitationId()+"@treue>" ||
			!strings.Contains(m.Header.Get("List-Unsubscribe"), "/u/") || !strings.Contains(m.From, "surveys@treue.example") {
			t.Errorf("email: subject %q, from %q, headers %v", m.Subject, m.From, m.Header)
		}
		link := linkIn(t, m.Text, "http://"+sys.surveyHTTP+"/s/")
		if !strings.Contains(m.HTML, `href="`+link+`"`) {
			t.Errorf("the HTML part has not the text part's link %s:\n%s", link, m.HTML)
		}
		if link != inv.GetUrl() {
			t.Errorf("the email's link %s is not the invitation's %s", link, inv.GetUrl())
		}
		waitInvitation(t, mailer, clara, "sent by email", func(i *surveyv1.Invitation) bool {
			return i.GetStatus() == surveyv1.InvitationStatus_INVITATION_STATUS_SENT && i.GetChannel() == surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL
		})
		deliveries, err := surveyAdmin.ListDeliveries(ctx, &surveyv1.ListDeliveriesRequest{InvitationId: inv.GetInvitationId()})
		must(t, err)
		if len(deliveries.GetDeliveries()) != 1 || deliveries.GetDeliveries()[0].GetOutcome() != surveyv1.DeliveryOutcome_DELIVERY_OUTCOME_SENT {
			t.Errorf("delivery log %v", deliveries.GetDeliveries())
		}

		// Clara opens the link from the email on her phone and answers 4: the reason
		// question appears without a reload; she types her reason and sends.
		tab := browser.New(t, browser.PhoneWidth, browser.PhoneHeight)
		browser.Do(t, tab, "open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("survey")))
		if got := browser.Text(t, tab, "legend"); got != "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?" {
			t.Errorf("the question reads %q", got)
		}
		browser.Screenshot(t, tab, "e2e-survey", "service-call-1-opened")
		browser.Do(t, tab, "answer 4", chromedp.Click(chromedp.CSS(`input[name="q.nps"][value="4"]`)), chromedp.WaitVisible(chromedp.ID("q-reason")))
		if got := browser.Text(t, tab, "label[for=q-reason]"); !strings.HasPrefix(got, "Was ist der Hauptgrund für Ihre Bewertung?") {
			t.Errorf("the follow-up asks %q", got)
		}
		const reason = "Die Hotline hat mich dreimal weiterverbunden."
		browser.Do(t, tab, "type the reason", chromedp.SendKeys(chromedp.ID("q-reason"), reason))
		browser.Screenshot(t, tab, "e2e-survey", "service-call-2-answered")
		resp, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS("button[type=submit]")))
		if err != nil || resp.Status != 200 {
			t.Fatalf("submit: %v, %v", resp, err)
		}
		if got := browser.Text(t, tab, "h1#thanks"); got != "Vielen Dank! Ihre Antwort wurde gespeichert." {
			t.Errorf("thanks: %q", got)
		}
		browser.Screenshot(t, tab, "e2e-survey", "service-call-3-thanks")

		// The response carries the attribution from the call to the answer.
		ev := testkit.WaitEvent(sys.Env, "survey.response.submitted", func(r *surveyv1.ResponseSubmitted) bool {
			return r.GetInvitationId() == inv.GetInvitationId()
		})
		texts := map[string]string{}
		for _, a := range ev.GetAnswers() {
			texts[a.GetQuestionId()] = a.GetText()
		}
		if ev.GetMemberId() != clara || ev.GetStoreId() != "berlin-01" || ev.GetEmployeeId() != "emp-042" ||
			ev.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL || ev.GetTouchpointKey() != "touchpoint:"+eventID ||
			ev.GetSurveyId() != npsSurvey || ev.GetSurveyVersion() != 1 || ev.GetTriggerId() != callRule.Rule.TriggerId ||
			ev.GetScore() != 4 || ev.GetScoreKind() != commonv1.ScoreKind_SCORE_KIND_NPS ||
			ev.GetNpsClass() != commonv1.NpsClass_NPS_CLASS_DETRACTOR || ev.GetComment() != reason || texts["reason"] != reason ||
			ev.GetLocale() != "de" || ev.GetChannel() != commonv1.Channel_CHANNEL_STORE {
			t.Errorf("survey.response.submitted: %v", ev)
		}
		waitInvitation(t, mailer, clara, "answered", func(i *surveyv1.Invitation) bool {
			return i.GetStatus() == surveyv1.InvitationStatus_INVITATION_STATUS_ANSWERED && i.GetAnswered()
		})

		// Feedback opens a call-back case for customer service, attributed to the employee.
		var opened *feedbackv1.Case
		testkit.Eventually(t, 20*time.Second, "the call-back case", func() bool {
			cases, err := feedbackAPI.ListCases(ctx, &feedbackv1.ListCasesRequest{Team: "customer-service", Status: feedbackv1.CaseStatus_CASE_STATUS_OPEN})
			must(t, err)
			for _, c := range cases.GetCases() {
				if c.GetResponseId() == ev.GetResponseId() {
					opened = c
				}
			}
			return opened != nil
		})
		got, err := feedbackAPI.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: opened.GetCaseId()})
		must(t, err)
		c := got.GetCase()
		if c.GetKind() != feedbackv1.CaseKind_CASE_KIND_CALLBACK || c.GetMemberId() != clara || c.GetEmployeeId() != "emp-042" ||
			c.GetStoreId() != "berlin-01" || c.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL || c.GetScore() != 4 ||
			c.GetScoreKind() != commonv1.ScoreKind_SCORE_KIND_NPS || c.GetComment() != reason {
			t.Errorf("case %v", c)
		}

		// Reporting counts the detractor under the service call and the store.
		testkit.Eventually(t, 20*time.Second, "the answer in the NPS figures", func() bool {
			nps, err := reportAPI.GetNps(ctx, &reportingv1.GetNpsRequest{})
			must(t, err)
			call := figure(nps.GetByTouchpoint(), "SERVICE_CALL")
			store := figure(nps.GetByStore(), "berlin-01")
			return call != nil && call.GetResponses() == 1 && call.GetDetractors() == 1 && call.GetScore() == -100 &&
				store != nil && store.GetDetractors() == 1
		})
	})

	t.Run("where it is night, the email waits for the morning", func(t *testing.T) {
		night, loc := nightZone(t)
		enrolled, err := ledgerAPI.Enroll(ctx, &ledgerv1.EnrollRequest{
			IdempotencyKey: "e2e-survey-emil", DisplayName: "Emil", Email: "emil@example.com", Locale: "en",
			SurveyConsent: true, TimeZone: night,
		})
		must(t, err)
		emil := enrolled.Member.MemberId
		testkit.Eventually(t, 20*time.Second, "the survey knows Emil's time zone", func() bool {
			return sys.db.Count(`SELECT count(*) FROM survey.members WHERE member_id = $1 AND time_zone = $2`, emil, night) == 1
		})
		eventID := uuid.Must(uuid.NewV7()).String()
		body := fmt.Sprintf(`{"eventId":%q,"memberId":%q,"touchpoint":"TOUCHPOINT_SERVICE_CALL","storeId":"berlin-01",`+
			`"employeeId":"emp-042","occurredAt":%q}`, eventID, emil, time.Now().UTC().Format(time.RFC3339Nano))
		sys.PublishRaw(testkit.Raw{Subject: "touchpoint.contact.recorded.service_call", ID: eventID, ContentType: "application/json", Data: []byte(body)})
		// Due after the delay, the dispatcher holds it until 08:00 where Emil lives.
		local := time.Now().In(loc)
		morning := time.Date(local.Year(), local.Month(), local.Day(), 8, 0, 0, 0, loc)
		if local.Hour() >= 8 {
			morning = time.Date(local.Year(), local.Month(), local.Day()+1, 8, 0, 0, 0, loc)
		}
		inv := waitInvitation(t, mailer, emil, "held until the morning", func(i *surveyv1.Invitation) bool {
			return i.GetDueAt().AsTime().Equal(morning)
		})
		if inv.GetStatus() != surveyv1.InvitationStatus_INVITATION_STATUS_SCHEDULED {
			t.Errorf("invitation %v", inv)
		}
		for _, m := range mailbox.Messages() {
			if slices.Contains(m.To, "emil@example.com") {
				t.Errorf("an email to Emil at %v local time", m.Received.In(loc))
			}
		}
	})

	t.Run("a purchase by card is the card holder's; its return before the delay suppresses the invitation", func(t *testing.T) {
		p := &posv1.PurchaseRecorded{
			EventId: uuid.Must(uuid.NewV7()).String(), StoreId: "hamburg-02", TransactionId: "T-CARD-1",
			MemberId: "card:" + strings.ReplaceAll(card, " ", "-"), OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 2499,
			Lines:   []*posv1.Line{{Sku: "MUG-01", Description: "Stoneware mug", Quantity: 1, AmountMinor: 2499}},
			Channel: commonv1.Channel_CHANNEL_STORE, EmployeeId: "emp-017",
		}
		must(t, sys.till(true).PublishPurchase(ctx, p))
		matched := testkit.WaitEvent(sys.Env, "ledger.purchase.matched", func(m *ledgerv1.PurchaseMatched) bool {
			return m.GetTransactionId() == p.TransactionId
		})
		if matched.GetMemberId() != dora || matched.GetEmployeeId() != "emp-017" {
			t.Errorf("ledger.purchase.matched: %v", matched)
		}
		inv := waitInvitation(t, mailer, dora, "scheduled for the card holder", func(i *surveyv1.Invitation) bool { return i != nil })
		if inv.GetStatus() != surveyv1.InvitationStatus_INVITATION_STATUS_SCHEDULED || inv.GetSurveyId() != csatSurvey ||
			inv.GetTriggerId() != purchaseRule.Rule.TriggerId || inv.GetStoreId() != "hamburg-02" || inv.GetEmployeeId() != "emp-017" ||
			inv.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_PURCHASE || !dueAfter(inv, p.OccurredAt.AsTime().Add(48*time.Hour)) {
			t.Errorf("invitation %v", inv)
		}

		// Dora brings the mug back the next minute.
		must(t, sys.till(true).PublishReturn(ctx, &posv1.ReturnRecorded{
			EventId: uuid.Must(uuid.NewV7()).String(), StoreId: "hamburg-02", ReturnId: "R-CARD-1", OriginalTransactionId: "T-CARD-1",
			MemberId: p.MemberId, OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 2499,
			Lines: []*posv1.Line{{Sku: "MUG-01", Quantity: 1, AmountMinor: 2499}},
		}))
		waitInvitation(t, mailer, dora, "suppressed", func(i *surveyv1.Invitation) bool {
			return i.GetStatus() == surveyv1.InvitationStatus_INVITATION_STATUS_SUPPRESSED
		})
		list, err := triggers.ListSuppressions(ctx, &surveyv1.ListSuppressionsRequest{MemberId: dora})
		must(t, err)
		if s := list.GetSuppressions(); len(s) != 1 || s[0].GetReason() != surveyv1.SuppressionReason_SUPPRESSION_REASON_RETURNED ||
			s[0].GetInvitationId() != inv.GetInvitationId() || s[0].GetTouchpointKey() != "pos:hamburg-02:T-CARD-1" ||
			s[0].GetTriggerId() != purchaseRule.Rule.TriggerId {
			t.Errorf("suppressions %v", s)
		}
	})

	t.Run("a receipt's QR code for an anonymous purchase: its link answers once", func(t *testing.T) {
		req := &surveyv1.IssueReceiptLinkRequest{StoreId: "berlin-01", TransactionId: "T-ANON-1", EmployeeId: "emp-042", Locale: "en", Size: 256}
		receipt, err := till.IssueReceiptLink(ctx, req)
		must(t, err)
		if !strings.HasPrefix(receipt.GetUrl(), "http://"+sys.surveyHTTP+"/r/") || receipt.GetQrContentType() != "image/png" {
			t.Fatalf("receipt link %v", receipt)
		}
		must(t, os.WriteFile(filepath.Join(shots, "receipt-qr.png"), receipt.GetQrCode(), 0o644))
		qrHolds(t, receipt.GetQrCode(), receipt.GetUrl())
		again, err := till.IssueReceiptLink(ctx, req)
		must(t, err)
		if again.GetUrl() != receipt.GetUrl() || again.GetInvitationId() != receipt.GetInvitationId() {
			t.Errorf("the same receipt got another link: %s, then %s", receipt.GetUrl(), again.GetUrl())
		}

		// The customer scans it: a 9, the praise question, thanks. Once.
		page := httpGet(t, receipt.GetUrl())
		page = postForm(t, receipt.GetUrl(), url.Values{"q.nps": {"9"}, "_shown": {shownOf(t, page)}})
		if !strings.Contains(page, "What did you like most?") {
			t.Fatalf("no praise question after a 9:\n%s", page)
		}
		page = postForm(t, receipt.GetUrl(), url.Values{"q.nps": {"9"}, "q.praise": {"Quick and friendly"}, "_shown": {shownOf(t, page)}})
		if !strings.Contains(page, `id="thanks"`) {
			t.Fatalf("no thanks:\n%s", page)
		}
		if code, _ := post(t, receipt.GetUrl(), url.Values{"q.nps": {"0"}, "_shown": {"nps"}}); code != 409 {
			t.Errorf("a second answer to the receipt: %d, want 409", code)
		}
		ev := testkit.WaitEvent(sys.Env, "survey.response.submitted", func(r *surveyv1.ResponseSubmitted) bool {
			return r.GetInvitationId() == receipt.GetInvitationId()
		})
		if ev.GetMemberId() != "" || ev.GetStoreId() != "berlin-01" || ev.GetEmployeeId() != "emp-042" || ev.GetScore() != 9 ||
			ev.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_PURCHASE || ev.GetTouchpointKey() != "pos:berlin-01:T-ANON-1" {
			t.Errorf("survey.response.submitted: %v", ev)
		}
		testkit.Eventually(t, 20*time.Second, "the receipt's answer in the NPS figures", func() bool {
			nps, err := reportAPI.GetNps(ctx, &reportingv1.GetNpsRequest{})
			must(t, err)
			purchase := figure(nps.GetByTouchpoint(), "PURCHASE")
			return nps.GetOverall().GetResponses() == 2 && purchase != nil && purchase.GetPromoters() == 1
		})
	})

	// Nobody but Clara got an email: Emil's waits for his morning, Dora's invitation was
	// suppressed before it was due.
	for _, m := range mailbox.Messages() {
		if len(m.To) != 1 || m.To[0] != "clara@example.com" {
			t.Errorf("an email to %v", m.To)
		}
	}
	if n := len(mailbox.Messages()); n != 1 {
		t.Errorf("%d emails, want Clara's one", n)
	}
}

// waitInvitation waits until member's one invitation satisfies ok and returns it.
func waitInvitation(t *testing.T, api surveyv1.SurveyServiceClient, member, what string, ok func(*surveyv1.Invitation) bool) *surveyv1.Invitation {
	t.Helper()
	var inv *surveyv1.Invitation
	testkit.Eventually(t, 30*time.Second, "invitation "+what, func() bool {
		resp, err := api.ListInvitations(context.Background(), &surveyv1.ListInvitationsRequest{MemberId: member})
		must(t, err)
		if len(resp.GetInvitations()) > 1 {
			t.Fatalf("%d invitations for one member", len(resp.GetInvitations()))
		}
		inv = nil
		if len(resp.GetInvitations()) == 1 {
			inv = resp.GetInvitations()[0]
		}
		return inv != nil && ok(inv)
	})
	return inv
}

// dueAfter reports whether inv is due at the whole second at or after at.
func dueAfter(inv *surveyv1.Invitation, at time.Time) bool {
	due := inv.GetDueAt().AsTime()
	return due.Truncate(time.Second).Equal(due) && !due.Before(at) && due.Sub(at) < time.Second
}

func figure(fs []*reportingv1.NpsFigure, key string) *reportingv1.NpsFigure {
	for _, f := range fs {
		if f.GetKey() == key {
			return f
		}
	}
	return nil
}

// dayZone is a time zone where it is day now and for the next hour, outside the default
// quiet hours (21:00-08:00).
func dayZone(t *testing.T) string {
	t.Helper()
	for _, z := range []string{"Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
		"America/Sao_Paulo", "America/New_York", "America/Los_Angeles"} {
		loc, err := time.LoadLocation(z)
		must(t, err)
		if h := time.Now().In(loc).Hour(); h >= 9 && h < 19 {
			return z
		}
	}
	t.Fatal("no time zone has day now")
	return ""
}

// nightZone is a time zone well inside the default quiet hours (21:00-08:00) now: from
// 22:00 to 06:00.
func nightZone(t *testing.T) (string, *time.Location) {
	t.Helper()
	for _, z := range []string{"Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
		"America/Sao_Paulo", "America/New_York", "America/Los_Angeles"} {
		loc, err := time.LoadLocation(z)
		must(t, err)
		if h := time.Now().In(loc).Hour(); h >= 22 || h < 6 {
			return z, loc
		}
	}
	t.Fatal("no time zone has night now")
	return "", nil
}

var linkPattern = regexp.MustCompile(`https?://[^\s"<>]+`)

// linkIn is the one link in text that starts with prefix.
func linkIn(t *testing.T, text, prefix string) string {
	t.Helper()
	var found []string
	for _, l := range linkPattern.FindAllString(text, -1) {
		if strings.HasPrefix(l, prefix) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d links to %s in:\n%s", len(found), prefix, text)
	}
	return found[0]
}

// qrHolds checks that the PNG is the QR code of content: each module, read at its
// centre, is the one the encoder (at the receipt's error correction, M) gives content.
func qrHolds(t *testing.T, pngData []byte, content string) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	must(t, err)
	code, err := qr.New(content, qr.Medium)
	must(t, err)
	want := code.Bitmap() // with a quiet zone of 4 modules
	n := len(want)
	dark := func(x, y int) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		return r+g+b < 3*0x8000
	}
	// The dark modules' bounding box spans the code without its quiet zone.
	box := image.Rectangle{Min: img.Bounds().Max, Max: img.Bounds().Min}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			if dark(x, y) {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	if box.Dx() == 0 || box.Dx() != box.Dy() || box.Dx()%(n-8) != 0 {
		t.Fatalf("the QR code's modules (%v) do not fit the %d modules of the link's code", box, n-8)
	}
	scale := box.Dx() / (n - 8)
	for my := range n - 8 {
		for mx := range n - 8 {
			x, y := box.Min.X+mx*scale+scale/2, box.Min.Y+my*scale+scale/2
			if dark(x, y) != want[my+4][mx+4] {
				t.Fatalf("the QR code is not the link's: module %d,%d", mx, my)
			}
		}
	}
}

// artefacts is where this test keeps its screenshots: $TEST_ARTIFACTS, else the system's
// temporary directory, under treue-artifacts/e2e-survey.
func artefacts(t *testing.T) string {
	t.Helper()
	root := os.Getenv("TEST_ARTIFACTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "treue-artifacts")
	}
	dir := filepath.Join(root, "e2e-survey")
	must(t, os.MkdirAll(dir, 0o755))
	t.Logf("screenshots go to %s", dir)
	return dir
}
