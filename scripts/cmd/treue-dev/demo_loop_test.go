package main

import (
	"bytes"
	"context"
	"image/png"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/devstack"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/scripts/internal/demo"
	"github.com/treue/treue/scripts/internal/stack"
	survey "github.com/treue/treue/services/survey/service"
)

// TestDemoSurveyLoop: what make run sets up and prints of the survey loop, on a real
// survey service. The demo's rules are defined once however many runs play them; a
// service call is surveyed (CSAT) 25 s later; a purchase right after it is held back by
// the contact policy and counted by reason; an anonymous receipt gets a link and a PNG.
func TestDemoSurveyLoop(t *testing.T) {
	env := testkit.NewEnv(t)
	cfg, err := survey.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Base = env.Base()
	cfg.Base.HTTPAddr = "127.0.0.1:0"
	cfg.TokenSecret = strings.Repeat("s", 32)
	srv := testkit.Start(t, survey.New, cfg).Service
	keys := map[string]string{}
	for _, c := range testkit.RoleCallers() {
		keys[c.Role] = c.Key
	}
	s := &stack.Stack{Keys: keys, Procs: map[string]*stack.Proc{"survey": {Name: "survey", GRPCAddr: srv.GRPCAddr()}}}
	ctx := testkit.Ctx(t)

	var out strings.Builder
	for range 2 { // two runs of `make run` on the same database
		out.Reset()
		if err := demoSurveyLoop(ctx, s, &out); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(out.String(), `"CSAT 25 s after a service call"`) || !strings.Contains(out.String(), `survey "Delivery"`) {
		t.Errorf("the demo printed %q", out.String())
	}
	rules, err := surveyv1.NewTriggerServiceClient(env.Conn(srv.GRPCAddr(), "auditor")).
		ListTriggerRules(ctx, &surveyv1.ListTriggerRulesRequest{})
	if err != nil || len(rules.GetRules()) != 4 {
		t.Fatalf("rules %v, %v; want the two seeded (every contact, the re-survey) and the demo's two", rules.GetRules(), err)
	}
	var call *surveyv1.TriggerRule
	for _, r := range rules.GetRules() {
		if r.GetSpec().GetName() == "CSAT 25 s after a service call" {
			call = r
		}
	}
	if call == nil || call.GetSpec().GetSurveyId() != demoCSATSurveyID || call.GetSpec().GetDelay().AsDuration() != demoServiceCallDelay ||
		call.GetSpec().GetSamplingRate() != 1 || !call.GetActive() {
		t.Fatalf("service call rule %v", call)
	}

	// A member calls the hotline, then buys.
	member := uuid.NewString()
	env.WaitHandled(survey.ConsumerMembers, env.PublishEvent("", &ledgerv1.MemberEnrolled{
		MemberId: member, Email: demo.Email(1), Locale: "de-DE", TimeZone: "Europe/Berlin", SurveyConsent: true, EnrolledAt: timestamppb.Now(),
	}))
	called := time.Now()
	contact := &touchpointv1.ContactRecorded{EventId: uuid.NewString(), MemberId: member, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL,
		StoreId: demo.HotlineStore, EmployeeId: demo.HotlineEmployee, OccurredAt: timestamppb.New(called)}
	env.WaitHandled(survey.ConsumerTouchpoint, env.Publish("touchpoint.contact.recorded.service_call", contact.GetEventId(), contact))
	env.WaitHandled(survey.ConsumerPOS, env.PublishEvent("", &posv1.PurchaseRecorded{
		EventId: uuid.NewString(), StoreId: "berlin-01", TransactionId: "T-1", MemberId: member, OccurredAt: timestamppb.Now(),
		Currency: "EUR", TotalMinor: 899, Lines: []*posv1.Line{{Sku: "COF-250", Quantity: 1, AmountMinor: 899}}, Channel: commonv1.Channel_CHANNEL_STORE,
	}))
	list, err := surveyv1.NewSurveyServiceClient(env.Conn(srv.GRPCAddr(), "service")).
		ListInvitations(ctx, &surveyv1.ListInvitationsRequest{MemberId: member})
	if err != nil || len(list.GetInvitations()) != 1 {
		t.Fatalf("invitations %v, %v; want the service call's", list.GetInvitations(), err)
	}
	inv := list.GetInvitations()[0]
	if due := inv.GetDueAt().AsTime().Sub(called); inv.GetStatus() != surveyv1.InvitationStatus_INVITATION_STATUS_SCHEDULED ||
		inv.GetSurveyId() != demoCSATSurveyID || inv.GetEmployeeId() != demo.HotlineEmployee || due < demoServiceCallDelay-time.Second || due > demoServiceCallDelay+time.Second {
		t.Errorf("service call invitation %v (due %s after the call)", inv, due)
	}
	counts, err := suppressions(ctx, env.Conn(srv.GRPCAddr(), "marketing"))
	if err != nil {
		t.Fatal(err)
	}
	if got := formatCounts(counts); got != "1 (frequency cap 1)" {
		t.Errorf("suppressions %q, want the purchase's within the frequency cap", got)
	}

	// The receipt of an anonymous purchase.
	dir := t.TempDir()
	rc, err := demoReceipt(ctx, env.Conn(srv.GRPCAddr(), "pos"), dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(rc.Path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil || img.Bounds().Dx() != 256 || !strings.HasPrefix(rc.URL, "http://127.0.0.1:8082/r/") || !strings.HasSuffix(rc.Path, receiptQRFile) {
		t.Errorf("receipt %+v: %v", rc, err)
	}

	// The summary's lines.
	var sum strings.Builder
	surveySummary{Receipt: rc, Suppressions: counts}.print(&sum, &demo.Result{ServiceCalls: 3, Later: list.GetInvitations()})
	for _, want := range []string{"no demo mailbox", "CSAT 25 s after a service call (3 published)", "1 invitation(s), the first at " + inv.GetDueAt().AsTime().Local().Format("15:04:05"),
		"Receipt QR     " + rc.Path + "   (an anonymous purchase: " + rc.URL + ")", "Suppressed     1 (frequency cap 1)"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
}

func TestFormatCounts(t *testing.T) {
	if got := formatCounts(nil); got != "none" {
		t.Errorf("no suppressions: %q", got)
	}
	got := formatCounts(map[string]int{reasonWords(surveyv1.SuppressionReason_SUPPRESSION_REASON_OPEN_CASE): 1,
		reasonWords(surveyv1.SuppressionReason_SUPPRESSION_REASON_FREQUENCY_CAP): 24})
	if got != "25 (frequency cap 24, open case 1)" {
		t.Errorf("%q", got)
	}
}

// The mailbox tells of each email that arrives after the summary, with its page.
func TestDemoMailWatchPrintsNewEmails(t *testing.T) {
	t.Setenv("SURVEY_SMTP_ADDR", "")
	t.Setenv("SURVEY_QUIET_HOURS", "")
	t.Setenv("SURVEY_SMTP_TLS", "")
	t.Setenv("FEEDBACK_SMTP_ADDR", "")
	t.Setenv("FEEDBACK_SMTP_TLS", "")
	t.Setenv("SURVEY_MAIL_FROM", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := startDemoMail(ctx, slog.Default())
	if m == nil {
		t.Fatal("no mailbox")
	}
	sendTestMail(t, m.SMTPAddr, "before")
	out := &syncBuffer{}
	done := make(chan struct{})
	go func() { m.watch(ctx, out); close(done) }()
	sendTestMail(t, m.SMTPAddr, "Wie war es?")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `email to b@example.test: "Wie war es?"  `+m.URL+"m/1") {
		if time.Now().After(deadline) {
			t.Fatalf("watch printed %q", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if strings.Contains(out.String(), "before") || m.Count() != 2 {
		t.Errorf("watch printed %q of %d emails; want only the one after it started", out.String(), m.Count())
	}
}

// The summary's mailbox line: the count, or why a later run sends none.
func TestSurveySummaryMailLine(t *testing.T) {
	catcher, err := devstack.StartSMTPCatcher("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer catcher.Close()
	m := &demoMail{URL: "http://127.0.0.1:8025/", SMTPAddr: catcher.Addr(), catcher: catcher}
	line := func(res *demo.Result) string {
		var b strings.Builder
		surveySummary{Mail: m}.print(&b, res)
		return b.String()
	}
	if got := line(&demo.Result{}); !strings.Contains(got, "none this run: every demo member was invited in the last 30 days; `make clean` starts afresh") {
		t.Errorf("a later run:\n%s", got)
	}
	sendTestMail(t, catcher.Addr(), "How did we do?")
	if got := line(&demo.Result{}); !strings.Contains(got, "Demo emails    http://127.0.0.1:8025/   (1 arrived so far; new ones arrive there, reload)") {
		t.Errorf("a first run:\n%s", got)
	}
}
