package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/pkg/testkit/browser"
	"github.com/treue/treue/pkg/webhook"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	feedback "github.com/treue/treue/services/feedback/service"
	ledger "github.com/treue/treue/services/ledger/service"
	survey "github.com/treue/treue/services/survey/service"
)

// hookCall is one call a webhook receiver got.
type hookCall struct {
	header http.Header
	body   []byte
	status int
}

// hookReceiver is a subscriber's endpoint on loopback that answers 503 to the first
// call it gets, as a receiver being deployed would, and 204 to the rest.
type hookReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	calls []hookCall
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusNoContent
		if len(r.calls) == 0 {
			status = http.StatusServiceUnavailable
		}
		r.calls = append(r.calls, hookCall{header: req.Header.Clone(), body: body, status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) got() []hookCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// types is the event type of every call answered 204, by webhook id.
func (r *hookReceiver) types(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, c := range r.got() {
		if c.status != http.StatusNoContent {
			continue
		}
		var p struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(c.body, &p); err != nil {
			t.Fatalf("webhook body %s: %v", c.body, err)
		}
		out[c.header.Get("webhook-id")] = p.Type
	}
	return out
}

// TestDetractorFollowUpEndToEnd is the closed loop as a retailer runs it, with all five
// services, a real SMTP server, a webhook receiver on loopback and the agent's inbox in
// headless Chromium:
//
//   - an admin sets up a team (agent, team lead, manager), a routing rule for Berlin's
//     detractors and a webhook subscription; the agent gets a sign-in;
//   - Eva answers 2 on the survey page after a service call, with a comment about the
//     delivery: the case goes to the Berlin team by the rule, tagged "delivery", and is
//     assigned to the agent, who gets an email;
//   - nobody calls her back: the agent is reminded, then the first-contact deadline
//     passes and the case escalates to the agent and then to the team lead, each by email;
//   - the agent signs in to the inbox, finds the case overdue, opens it (Eva's contact
//     and answer are on it), acknowledges it and resolves it with 300 goodwill points:
//     the ledger books them, Eva's balance grows by 300;
//   - "Did we solve your problem?" reaches her by email; she answers, and the answer is
//     linked to the case;
//   - the timeline shows her answer, every move of the case, the points and her follow-up
//     answer, in order; reporting counts the team's case as escalated, contacted late,
//     resolved with the goodwill and solved per the customer;
//   - the webhook receiver got every event, each signed for its subscription; the first
//     call, refused with 503, was retried and delivered.
func TestDetractorFollowUpEndToEnd(t *testing.T) {
	mailbox := testkit.StartSMTP(t)
	receiver := newHookReceiver(t)
	sys := &system{Env: testkit.NewEnv(t)}
	sys.tuneSurvey = func(c *survey.Config) {
		c.Delivery.SMTPAddr = mailbox.Addr()
		c.Delivery.MailFrom = "Treue <surveys@shop.example>"
	}
	sys.tuneLedger = func(c *ledger.Config) { c.GoodwillBudget = 10_000 }
	// An SLA of seconds on the real clock: the services' clocks stay together, so the
	// survey's and the ledger's times fit the feedback service's.
	sys.tuneFeedback = func(c *feedback.Config) {
		c.Lifecycle.ReminderAt = 0.5
		c.Lifecycle.EscalationStep = 2 * time.Second
		c.Lifecycle.SweepInterval = 100 * time.Millisecond
		c.Lifecycle.SMTPAddr = mailbox.Addr()
		c.Lifecycle.MailFrom = "Treue <cases@shop.example>"
		c.Webhooks.Backoff = 500 * time.Millisecond
		c.Webhooks.Interval = 100 * time.Millisecond
		c.Webhooks.AllowLoopbackHTTP = true
	}
	startIn(t, sys)
	ctx := context.Background()
	ledgerAPI := ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "admin"))
	surveyAPI := surveyv1.NewSurveyServiceClient(sys.Conn(sys.survey, "service"))
	triggers := surveyv1.NewTriggerServiceClient(sys.Conn(sys.survey, "marketing"))
	teams := feedbackv1.NewTeamServiceClient(sys.Conn(sys.feedback, "admin"))
	rules := feedbackv1.NewRoutingServiceClient(sys.Conn(sys.feedback, "admin"))
	hooks := feedbackv1.NewWebhookServiceClient(sys.Conn(sys.feedback, "admin"))
	agentAPI := feedbackv1.NewFeedbackServiceClient(sys.Conn(sys.feedback, "service_agent"))

	// 1. The organisation: a team with an agent, a lead and a manager; a rule; a webhook.
	team, err := teams.CreateTeam(ctx, &feedbackv1.CreateTeamRequest{IdempotencyKey: "e2e-team-berlin", Key: "kundenservice-berlin", Name: "Kundenservice Berlin"})
	must(t, err)
	people := map[string]*feedbackv1.Staff{}
	for _, p := range []struct {
		name string
		role feedbackv1.StaffRole
	}{{"ann", feedbackv1.StaffRole_STAFF_ROLE_AGENT}, {"lee", feedbackv1.StaffRole_STAFF_ROLE_TEAM_LEAD}, {"max", feedbackv1.StaffRole_STAFF_ROLE_MANAGER}} {
		resp, err := teams.AddStaff(ctx, &feedbackv1.AddStaffRequest{IdempotencyKey: "e2e-staff-" + p.name, TeamId: team.GetTeam().GetTeamId(),
			Name: strings.ToUpper(p.name[:1]) + p.name[1:], Email: p.name + "@shop.example", Role: p.role})
		must(t, err)
		people[p.name] = resp.GetStaff()
	}
	_, err = rules.CreateRule(ctx, &feedbackv1.CreateRuleRequest{IdempotencyKey: "e2e-rule-berlin", Spec: &feedbackv1.RuleSpec{
		Name: "Berlin detractors", Priority: 1, Condition: `nps_class == "DETRACTOR" && store_id == "berlin-01"`,
		Team: "kundenservice-berlin", TaskType: "CALL_BACK", CasePriority: "HIGH",
		FirstContactSla: durationpb.New(4 * time.Second), ResolutionSla: durationpb.New(time.Hour),
	}})
	must(t, err)
	sub, err := hooks.CreateSubscription(ctx, &feedbackv1.CreateSubscriptionRequest{Url: receiver.URL + "/treue", EventTypes: []string{"*"}})
	must(t, err)
	accounts, err := staff.Open(ctx, staff.Config{DatabaseURL: sys.DatabaseURL()}, testkit.Logger(t))
	must(t, err)
	_, err = accounts.Create(ctx, "ann@shop.example", []string{"service_agent"}, "correct horse battery")
	must(t, err)
	accounts.Close()
	// The follow-up survey waits an hour in production; a second here.
	seeded, err := triggers.GetTriggerRule(ctx, &surveyv1.GetTriggerRuleRequest{TriggerId: resurveyRule})
	must(t, err)
	spec := seeded.GetRule().GetSpec()
	spec.Delay = durationpb.New(time.Second)
	_, err = triggers.UpdateTriggerRule(ctx, &surveyv1.UpdateTriggerRuleRequest{TriggerId: resurveyRule, Spec: spec})
	must(t, err)

	// 2. Eva, asked after a service call in Berlin, answers 2 with a comment.
	enrolled, err := ledgerAPI.Enroll(ctx, &ledgerv1.EnrollRequest{
		IdempotencyKey: "e2e-follow-up-eva", DisplayName: "Eva Krause", Email: "eva@example.com",
		Identifiers: []*ledgerv1.Identifier{{Kind: ledgerv1.IdentifierKind_IDENTIFIER_KIND_PHONE, Value: "+49 30 1234567"}},
		Locale:      "de", SurveyConsent: true, TimeZone: dayZone(t),
	})
	must(t, err)
	eva := enrolled.GetMember().GetMemberId()
	testkit.Eventually(t, 20*time.Second, "the survey and the feedback service know Eva", func() bool {
		return sys.db.Count(`SELECT count(*) FROM survey.members WHERE member_id = $1 AND email <> ''`, eva) == 1 &&
			sys.db.Count(`SELECT count(*) FROM feedback.members WHERE member_id = $1 AND email <> ''`, eva) == 1
	})
	_, err = surveyAPI.RecordTouchpoint(ctx, &surveyv1.RecordTouchpointRequest{
		EventId: uuid.NewString(), MemberId: eva, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL, StoreId: "berlin-01",
	})
	must(t, err)
	invited := mailbox.WaitFor(t, func(m testkit.Mail) bool { return slices.Equal(m.To, []string{"eva@example.com"}) }, 30*time.Second)
	comment := "Die Lieferung kam zwei Wochen zu spät."
	postForm(t, linkIn(t, invited.Text, "http://"+sys.surveyHTTP+"/s/"), url.Values{
		"q.nps": {"2"}, "q.reason": {comment}, "_shown": {"nps reason"},
	})

	// 3. Routed by the rule, tagged, assigned to the agent, who is told.
	var opened *feedbackv1.Case
	testkit.Eventually(t, 20*time.Second, "a call-back case for Eva", func() bool {
		opened = caseOfMember(t, agentAPI, eva, feedbackv1.CaseKind_CASE_KIND_CALLBACK)
		return opened != nil
	})
	id := opened.GetCaseId()
	if opened.GetTeam() != "kundenservice-berlin" || opened.GetAssignee() != people["ann"].GetStaffId() ||
		!slices.Contains(opened.GetTopics(), "delivery") || opened.GetComment() != comment {
		t.Fatalf("case %v: want the Berlin team, Ann, topic delivery and the comment", opened)
	}
	mailFor := func(who, subject string) testkit.Mail {
		t.Helper()
		return mailbox.WaitFor(t, func(m testkit.Mail) bool {
			return slices.Contains(m.To, who+"@shop.example") && strings.Contains(m.Subject, subject) && strings.Contains(m.Subject, id)
		}, 30*time.Second)
	}
	mailFor("ann", "assigned to you")

	// 4. Nobody calls: a reminder, then the deadline passes, up to the team lead.
	mailFor("ann", "Reminder")
	mailFor("ann", "Escalation level 1")
	mailFor("lee", "Escalation level 2")
	testkit.Eventually(t, 10*time.Second, "escalated to the agent, then the lead", func() bool {
		var got []string
		for _, e := range testkit.Events[*feedbackv1.CaseEscalated](sys.Env, "feedback.case.escalated") {
			if e.GetCaseId() == id {
				got = append(got, e.GetNotified())
			}
		}
		return len(got) >= 2 && got[0] == people["ann"].GetStaffId() && got[1] == people["lee"].GetStaffId()
	})

	// 5. The agent works it in the inbox: overdue in the queue; the customer on the case;
	// acknowledged, resolved with 300 goodwill points; it leaves the queue.
	before := balance(t, ledgerAPI, eva).GetAvailable()
	tab := browser.New(t, browser.DesktopWidth, browser.DesktopHeight)
	inbox := "http://" + sys.feedbackHTTP
	browser.Do(t, tab, "signing in",
		chromedp.Navigate(inbox+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SetValue(chromedp.CSS(`#username`), "ann@shop.example"),
		chromedp.SetValue(chromedp.CSS(`#password`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`#login`)),
		chromedp.WaitVisible(chromedp.CSS(`#counts`)),
	)
	row := `tr[data-id="` + id + `"]`
	overdueRows, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('`+row+`.overdue').length`))
	must(t, err)
	if overdueRows != 1 {
		t.Errorf("the case is not highlighted overdue in the queue")
	}
	browser.Screenshot(t, tab, "follow-up", "queue")
	browser.Submit(t, tab, row+` a`)
	browser.Do(t, tab, "the case page", chromedp.WaitVisible(chromedp.CSS(`#case`)))
	if got := browser.Text(t, tab, "#comment"); got != comment {
		t.Errorf("comment on the page %q", got)
	}
	if who := browser.Text(t, tab, "#customer"); !strings.Contains(who, "Eva Krause") || !strings.Contains(who, "+49301234567") ||
		!strings.Contains(who, "eva@example.com") {
		t.Errorf("the case page lacks Eva's name, phone or email:\n%s", who)
	}
	if got := browser.Text(t, tab, "#topics"); got != "delivery" {
		t.Errorf("topics on the page %q", got)
	}
	browser.Submit(t, tab, `#ack-form button`)
	testkit.Eventually(t, 10*time.Second, "acknowledged", func() bool { return browser.Text(t, tab, "#status") == "acknowledged" })
	browser.Do(t, tab, "filling the resolution",
		chromedp.SetValue(chromedp.CSS(`#outcome-select`), "CONTACTED_RESOLVED"),
		chromedp.SetValue(chromedp.CSS(`#resolve-note`), "Angerufen, entschuldigt, Versandkosten erstattet"),
		chromedp.SetValue(chromedp.CSS(`#goodwill-points`), "300"),
		chromedp.SetValue(chromedp.CSS(`#goodwill-reason`), "Entschuldigung für die Verspätung"),
	)
	browser.Screenshot(t, tab, "follow-up", "resolve")
	browser.Submit(t, tab, `#resolve-form button`)
	browser.Do(t, tab, "back to the queue", chromedp.WaitVisible(chromedp.CSS(`#counts`)))
	left, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('`+row+`').length`))
	must(t, err)
	if left != 0 {
		t.Errorf("the resolved case is still in the queue")
	}
	testkit.Eventually(t, 20*time.Second, "300 goodwill points on Eva's balance", func() bool {
		return balance(t, ledgerAPI, eva).GetAvailable() == before+300
	})
	// The case page's timeline shows the answer, the escalations and the points.
	testkit.Eventually(t, 20*time.Second, "the points on the case page's timeline", func() bool {
		browser.Do(t, tab, "the case page again", chromedp.Navigate(inbox+"/cases/"+id), chromedp.WaitVisible(chromedp.CSS(`#timeline`)))
		return strings.Contains(browser.Text(t, tab, "#timeline"), "+300 points")
	})
	if line := browser.Text(t, tab, "#timeline"); !strings.Contains(line, "answered 2 (NPS)") || !strings.Contains(line, ": escalate") {
		t.Errorf("the case page's timeline:\n%s", line)
	}
	browser.Screenshot(t, tab, "follow-up", "resolved")

	// 6. "Did we solve your problem?": answered, linked to the case.
	asked := mailbox.WaitFor(t, func(m testkit.Mail) bool {
		return slices.Equal(m.To, []string{"eva@example.com"}) && m.Subject == "Haben wir Ihr Problem gelöst?"
	}, 30*time.Second)
	postForm(t, linkIn(t, asked.Text, "http://"+sys.surveyHTTP+"/s/"), url.Values{"q.solved": {"yes"}, "q.csat": {"5"}, "_shown": {"solved csat"}})
	var resolved *feedbackv1.Case
	testkit.Eventually(t, 20*time.Second, "the follow-up answer on the case", func() bool {
		got, err := agentAPI.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: id})
		must(t, err)
		resolved = got.GetCase()
		return resolved.GetFollowUpSolved() == "yes" && resolved.GetFollowUpScore() == 5
	})
	if resolved.GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_RESOLVED || resolved.GetEscalationLevel() < 2 ||
		resolved.GetCustomer().GetDisplayName() != "Eva Krause" || resolved.GetCustomer().GetPreferredContact() != "email" {
		t.Errorf("the case after the loop: %v", resolved)
	}

	// 7. The timeline, oldest first: her answer, the case's moves, the points, her
	// follow-up answer.
	var entries []*feedbackv1.TimelineEntry
	testkit.Eventually(t, 20*time.Second, "the goodwill and the follow-up on the timeline", func() bool {
		got, err := agentAPI.GetCustomerTimeline(ctx, &feedbackv1.GetCustomerTimelineRequest{MemberId: eva, PageSize: 500})
		must(t, err)
		entries = slices.Clone(got.GetEntries())
		slices.Reverse(entries)
		var steps []string
		for _, e := range entries {
			steps = append(steps, timelineStep(e))
		}
		return isSubsequence([]string{"response 2", "case open", "case remind", "case escalate", "case escalate",
			"case acknowledge", "case resolve", "points_credited 300", "response 5"}, steps)
	})
	for i := 1; i < len(entries); i++ {
		if entries[i].GetAt().AsTime().Before(entries[i-1].GetAt().AsTime()) {
			t.Errorf("timeline out of order at %d: %v before %v", i, entries[i-1], entries[i])
		}
	}

	// 8. Reporting sees the loop: the team's case escalated, contacted late, resolved with
	// 300 goodwill points, and the customer says it is solved.
	reportAPI := reportingv1.NewReportingServiceClient(sys.Conn(sys.rept, "auditor"))
	var figure *reportingv1.FollowUpFigure
	testkit.Eventually(t, 20*time.Second, "the loop in reporting", func() bool {
		stats, err := reportAPI.GetFollowUpStats(ctx, &reportingv1.GetFollowUpStatsRequest{Team: "kundenservice-berlin"})
		must(t, err)
		figure = stats.GetOverall()
		return figure.GetFollowUpsAnswered() == 1 && figure.GetGoodwillPoints() == 300
	})
	if figure.GetOpened() != 1 || figure.GetResolved() != 1 || figure.GetStillOpen() != 0 || figure.GetEscalated() != 1 ||
		figure.GetFirstContactWithinDueShare() != 0 || figure.GetSolvedShare() != 1 || figure.GetFollowUpCsatAverage() != 5 {
		t.Errorf("the Berlin team's follow-up figures: %v", figure)
	}

	// 9. Webhooks: every event delivered and signed; the refused first call retried.
	want := []string{"survey.response.submitted", "feedback.case.opened", "feedback.case.reminder", "feedback.case.escalated",
		"feedback.case.acknowledged", "feedback.case.resolved", "feedback.goodwill.granted", "feedback.case.follow_up_received"}
	testkit.Eventually(t, 30*time.Second, "every event at the receiver", func() bool {
		got := map[string]bool{}
		for _, typ := range receiver.types(t) {
			got[typ] = true
		}
		for _, w := range want {
			if !got[w] {
				return false
			}
		}
		return true
	})
	calls := receiver.got()
	for _, c := range calls {
		if _, err := webhook.Verify(sub.GetSecret(), c.header, c.body, time.Now(), webhook.DefaultTolerance); err != nil {
			t.Errorf("call %s does not verify: %v", c.header.Get("webhook-id"), err)
		}
		if want := standardSignature(t, sub.GetSecret(), c); !slices.Contains(strings.Fields(c.header.Get("webhook-signature")), want) {
			t.Errorf("call %s lacks the signature %s computed from the specification", c.header.Get("webhook-id"), want)
		}
	}
	refused := calls[0].header.Get("webhook-id")
	if _, ok := receiver.types(t)[refused]; !ok {
		t.Errorf("the call refused with 503 (%s) was not delivered again", refused)
	}
	log, err := hooks.ListDeliveries(ctx, &feedbackv1.ListDeliveriesRequest{SubscriptionId: sub.GetSubscription().GetSubscriptionId(), PageSize: 500})
	must(t, err)
	retried := false
	for _, d := range log.GetDeliveries() {
		if d.GetEventId() == refused {
			retried = d.GetStatus() == feedbackv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED && d.GetAttempts() == 2 &&
				len(d.GetAttemptLog()) == 2 && d.GetAttemptLog()[0].GetStatusCode() == http.StatusServiceUnavailable
		}
	}
	if !retried {
		t.Errorf("the delivery log does not show the refused call delivered on its second attempt: %v", log.GetDeliveries())
	}
}

// timelineStep names a timeline entry for comparing sequences: "response 2",
// "case resolve", "points_credited 300".
func timelineStep(e *feedbackv1.TimelineEntry) string {
	switch e.GetKind() {
	case "response":
		return "response " + strconv.Itoa(int(e.GetScore()))
	case "case":
		return "case " + e.GetAction()
	case "points_credited", "points_debited":
		return e.GetKind() + " " + strconv.FormatInt(e.GetPoints(), 10)
	}
	return e.GetKind()
}

// isSubsequence reports whether want occurs in got in order, gaps allowed.
func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// standardSignature is a call's v1 signature under secret, computed from the Standard
// Webhooks specification rather than with pkg/webhook: what a subscriber's code does.
func standardSignature(t *testing.T, secret string, c hookCall) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	must(t, err)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(c.header.Get("webhook-id") + "." + c.header.Get("webhook-timestamp") + "."))
	m.Write(c.body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}
