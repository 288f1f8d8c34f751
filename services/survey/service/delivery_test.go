package service_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"

	"github.com/treue/treue/pkg/testkit"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/service"
)

// deliveryEnv is a survey service that delivers to a real SMTP server on loopback.
type deliveryEnv struct {
	*env
	smtp *testkit.SMTP
}

// startDelivery runs a survey service whose dispatcher mails to a test SMTP server, quickly
// and without quiet hours unless change says otherwise.
func startDelivery(t *testing.T, change ...func(*service.Config)) *deliveryEnv {
	t.Helper()
	srv := testkit.StartSMTP(t)
	e := start(t, append([]func(*service.Config){func(c *service.Config) {
		c.Delivery = service.DefaultDeliveryConfig()
		c.Delivery.SMTPAddr = srv.Addr()
		c.Delivery.MailFrom = "Shop <surveys@shop.example>"
		c.Delivery.QuietHours = "off"
		c.Delivery.DispatchInterval = 50 * time.Millisecond
		c.Delivery.Backoff = 100 * time.Millisecond
		c.Delivery.BackoffMax = time.Second
	}}, change...)...)
	return &deliveryEnv{env: e, smtp: srv}
}

func (e *deliveryEnv) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// member stores a member's copy as the ledger's events would.
func (e *deliveryEnv) member(id, locale, email, timeZone string, consent bool) {
	e.t.Helper()
	e.exec(`INSERT INTO members (member_id, locale, survey_consent, as_of, email, phone, time_zone)
		VALUES ($1, $2, $3, now() - interval '1 hour', $4, '+4915112345678', $5)`, id, locale, consent, email, timeZone)
}

// schedule stores an invitation of member due at due, as a trigger rule would.
func (e *deliveryEnv) schedule(member, locale string, due time.Time, channels ...string) string {
	e.t.Helper()
	if len(channels) == 0 {
		channels = []string{"EMAIL", "WEBHOOK", "NONE"}
	}
	id := uuid.NewString()
	e.exec(`INSERT INTO invitations (id, survey_id, member_id, locale, touchpoint, store_id, trigger_event_id,
			trigger_key, expires_at, created_at, status, due_at, channels)
		VALUES ($1, $2, $3, $4, 'SERVICE_CALL', 'S1', $5, $6, $7, now(), 'SCHEDULED', $8, $9)`,
		id, "0192f0c8-5a1e-7000-8000-000000000001", member, locale, uuid.NewString(), "touchpoint:"+uuid.NewString(),
		due.Add(service.DefaultLinkTTL).Truncate(time.Second), due, channels)
	return id
}

func (e *deliveryEnv) status(id string) string {
	e.t.Helper()
	var s string
	if err := e.db.QueryRow(context.Background(), `SELECT status FROM invitations WHERE id = $1`, id).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *deliveryEnv) waitStatus(id, want string) {
	e.t.Helper()
	testkit.Eventually(e.t, 10*time.Second, "invitation "+want, func() bool { return e.status(id) == want })
}

func (e *deliveryEnv) mailFor(id string) testkit.Mail {
	e.t.Helper()
	return e.smtp.WaitFor(e.t, func(m testkit.Mail) bool { return m.Header.Get("Message-Id") == "<"+id+"@treue>" }, 10*time.Second)
}

func (e *deliveryEnv) mailsFor(id string) int {
	n := 0
	for _, m := range e.smtp.Messages() {
		if strings.HasPrefix(m.Header.Get("Message-Id"), "<"+id) {
			n++
		}
	}
	return n
}

var linkRE = regexp.MustCompile(`https://survey\.example\.test/s/[A-Za-z0-9_.-]+`)

// local turns a public link into one on the test's web server.
func (e *deliveryEnv) local(link string) string {
	return e.baseURL + strings.TrimPrefix(link, publicURL)
}

func TestDeliveryEmailsDueInvitationOnceInTheMembersLanguage(t *testing.T) {
	e := startDelivery(t)
	member := uuid.NewString()
	e.member(member, "de-AT", "erika@example.test", "Europe/Vienna", true)
	now := time.Now()
	id := e.schedule(member, "de-AT", now)
	later := e.schedule(member, "de-AT", now.Add(2*time.Second))

	m := e.mailFor(id)
	if len(m.To) != 1 || m.To[0] != "erika@example.test" || m.From != "surveys@shop.example" {
		t.Fatalf("envelope %s -> %v", m.From, m.To)
	}
	// The survey's own subject, in the member's language.
	if m.Subject != "Wie waren wir?" {
		t.Errorf("subject %q", m.Subject)
	}
	link := linkRE.FindString(m.Text)
	if link == "" || !strings.Contains(m.HTML, `href="`+link+`"`) || !strings.Contains(m.HTML, "Zur Umfrage") {
		t.Fatalf("link %q missing from text or HTML:\n%s\n%s", link, m.Text, m.HTML)
	}
	if !strings.Contains(m.Text, "Abmelden") || !strings.Contains(m.HTML, "/u/") {
		t.Errorf("no unsubscribe link:\n%s", m.Text)
	}
	if lu := m.Header.Get("List-Unsubscribe"); !strings.HasPrefix(lu, "<"+publicURL+"/u/") ||
		m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe %q / %q", lu, m.Header.Get("List-Unsubscribe-Post"))
	}
	resp, err := e.http.Get(e.local(link))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `lang="de"`) {
		t.Fatalf("GET link: %d status %s", resp.StatusCode, e.status(id))
	}

	// The later one is not sent before it is due, then it is.
	if time.Now().Before(now.Add(2*time.Second)) && e.mailsFor(later) != 0 {
		t.Fatal("sent before due")
	}
	m2 := e.mailFor(later)
	if m2.Received.Before(now.Add(2 * time.Second)) {
		t.Fatalf("received at %s, due at %s", m2.Received, now.Add(2*time.Second))
	}
	e.waitStatus(id, "SENT")
	e.waitStatus(later, "SENT")
	sent := testkit.WaitEvent(e.Env, subject[*surveyv1.InvitationSent](), func(ev *surveyv1.InvitationSent) bool {
		return ev.GetInvitationId() == id
	})
	if sent.GetChannel() != surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL || sent.GetReminder() || sent.GetMemberId() != member {
		t.Errorf("event %v", sent)
	}
	time.Sleep(500 * time.Millisecond) // several dispatch passes
	if n, k := e.mailsFor(id), e.mailsFor(later); n != 1 || k != 1 {
		t.Fatalf("mails %d and %d, want one each", n, k)
	}
	if n := e.db.Count(`SELECT count(*) FROM deliveries WHERE invitation_id = $1 AND outcome = 'SENT' AND channel = 'EMAIL'`, id); n != 1 {
		t.Fatalf("%d delivery rows", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM invitations WHERE id = $1 AND channel = 'EMAIL' AND sent_at IS NOT NULL AND attempts = 1`, id); n != 1 {
		t.Fatal("invitation not recorded as sent by email once")
	}
}

func TestDeliveryEnglishFallback(t *testing.T) {
	e := startDelivery(t)
	member := uuid.NewString()
	e.member(member, "fr-FR", "jean@example.test", "", true)
	m := e.mailFor(e.schedule(member, "fr-FR", time.Now()))
	if m.Subject != "How did we do?" || !strings.Contains(m.HTML, `lang="en"`) {
		t.Fatalf("subject %q", m.Subject)
	}
}

func TestDeliveryWaitsForTheEndOfQuietHours(t *testing.T) {
	// Quiet hours around now in Tokyo.
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	local := time.Now().In(tokyo)
	from, to := local.Add(-time.Hour), local.Add(2*time.Hour)
	window := fmt.Sprintf("%02d:%02d-%02d:%02d", from.Hour(), from.Minute(), to.Hour(), to.Minute())
	e := startDelivery(t, func(c *service.Config) { c.Delivery.QuietHours = window })
	member, other := uuid.NewString(), uuid.NewString()
	e.member(member, "en", "ken@example.test", "Asia/Tokyo", true)
	// The other member's zone is 12 hours or more away: their evening or morning is not quiet.
	e.member(other, "en", "ana@example.test", "America/Los_Angeles", true)
	quiet := e.schedule(member, "en", time.Now())
	awake := e.schedule(other, "en", time.Now())

	e.mailFor(awake)
	want := time.Date(to.Year(), to.Month(), to.Day(), to.Hour(), to.Minute(), 0, 0, tokyo)
	testkit.Eventually(t, 10*time.Second, "due time moved to the end of quiet hours", func() bool {
		return e.db.Count(`SELECT count(*) FROM invitations WHERE id = $1 AND status = 'SCHEDULED' AND due_at = $2`, quiet, want) == 1
	})
	if e.mailsFor(quiet) != 0 {
		t.Fatal("mailed in quiet hours")
	}
	if n := e.db.Count(`SELECT count(*) FROM suppressions WHERE invitation_id = $1`, quiet); n != 0 {
		t.Fatal("quiet hours suppressed the invitation")
	}
}

func TestDeliveryPolicyAtDueTime(t *testing.T) {
	m := testkit.CaptureMetrics()
	heldBack := func(reason string) int64 {
		return m.Sum(t, "treue.survey.invitations.suppressed_when_due", attribute.String("reason", reason))
	}
	before := map[string]int64{}
	for _, r := range []string{"no_consent", "open_case", "erased"} {
		before[r] = heldBack(r)
	}
	e := startDelivery(t)
	withdrawn, withCase, erased, answered, fine := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	for _, m := range []string{withdrawn, withCase, erased, answered, fine} {
		e.member(m, "en", m[:8]+"@example.test", "", true)
	}
	due := time.Now().Add(1500 * time.Millisecond)
	ids := map[string]string{}
	for _, m := range []string{withdrawn, withCase, erased, answered, fine} {
		ids[m] = e.schedule(m, "en", due)
	}
	// Between scheduling and the due time: consent withdrawn, a case opened, an erasure, an answer.
	e.exec(`UPDATE members SET survey_consent = false, as_of = now() WHERE member_id = $1`, withdrawn)
	e.exec(`INSERT INTO open_cases (case_id, member_id, opened_at) VALUES ($1, $2, now())`, uuid.NewString(), withCase)
	e.erase(erased)
	e.exec(`INSERT INTO responses (id, invitation_id, survey_id, score, nps_class, submitted_at)
		VALUES ($1, $2, '0192f0c8-5a1e-7000-8000-000000000001', 9, 'PROMOTER', now())`, uuid.NewString(), ids[answered])

	e.mailFor(ids[fine])
	for m, reason := range map[string]surveyv1.SuppressionReason{
		withdrawn: surveyv1.SuppressionReason_SUPPRESSION_REASON_NO_CONSENT,
		withCase:  surveyv1.SuppressionReason_SUPPRESSION_REASON_OPEN_CASE,
		erased:    surveyv1.SuppressionReason_SUPPRESSION_REASON_ERASED,
	} {
		id := ids[m]
		e.waitStatus(id, "SUPPRESSED")
		ev := testkit.WaitEvent(e.Env, subject[*surveyv1.InvitationSuppressed](), func(ev *surveyv1.InvitationSuppressed) bool {
			return ev.GetInvitationId() == id
		})
		if ev.GetReason() != reason {
			t.Errorf("%s: reason %v, want %v", id, ev.GetReason(), reason)
		}
		want := strings.TrimPrefix(reason.String(), "SUPPRESSION_REASON_")
		if n := e.db.Count(`SELECT count(*) FROM suppressions WHERE invitation_id = $1 AND reason = $2`, id, want); n != 1 {
			t.Errorf("%s: %d suppression rows with %s", id, n, want)
		}
	}
	for r, b := range before {
		if n := heldBack(r) - b; n != 1 {
			t.Errorf("counted %d held back for %s, want 1", n, r)
		}
	}
	e.waitStatus(ids[answered], "ANSWERED")
	time.Sleep(300 * time.Millisecond)
	for _, m := range []string{withdrawn, withCase, erased, answered} {
		if n := e.mailsFor(ids[m]); n != 0 {
			t.Errorf("%s mailed", ids[m])
		}
	}
}

func TestDeliveryRetriesThenSendsAndListsDeliveries(t *testing.T) {
	m := testkit.CaptureMetrics()
	attempts := func(outcome string) int64 {
		return m.Sum(t, "treue.survey.deliveries", attribute.String("channel", "email"),
			attribute.Bool("reminder", false), attribute.String("outcome", outcome))
	}
	sentBefore, retryingBefore := attempts("sent"), attempts("retrying")
	e := startDelivery(t)
	member := uuid.NewString()
	e.member(member, "en", "retry@example.test", "", true)
	e.smtp.FailNext(2, 451)
	id := e.schedule(member, "en", time.Now())
	e.mailFor(id)
	e.waitStatus(id, "SENT")
	if n := e.db.Count(`SELECT attempts FROM invitations WHERE id = $1`, id); n != 3 {
		t.Fatalf("attempts %d, want 3", n)
	}
	if s, r := attempts("sent")-sentBefore, attempts("retrying")-retryingBefore; s != 1 || r != 2 {
		t.Errorf("counted %d sent and %d retrying attempts, want 1 and 2", s, r)
	}

	ctx := e.As("admin")
	all, err := e.admin.ListDeliveries(ctx, &surveyv1.ListDeliveriesRequest{InvitationId: id})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, d := range all.GetDeliveries() {
		outcomes = append(outcomes, fmt.Sprintf("%d:%s", d.GetAttempt(), strings.TrimPrefix(d.GetOutcome().String(), "DELIVERY_OUTCOME_")))
		if d.GetOutcome() == surveyv1.DeliveryOutcome_DELIVERY_OUTCOME_RETRYING && !strings.Contains(d.GetError(), "451") {
			t.Errorf("retry error %q", d.GetError())
		}
	}
	if strings.Join(outcomes, " ") != "3:SENT 2:RETRYING 1:RETRYING" {
		t.Fatalf("deliveries %v", outcomes)
	}
	failed, err := e.admin.ListDeliveries(ctx, &surveyv1.ListDeliveriesRequest{InvitationId: id, FailedOnly: true})
	if err != nil || len(failed.GetDeliveries()) != 2 {
		t.Fatalf("failed only: %v %v", failed, err)
	}
	// Pages of one.
	var pages []string
	token := ""
	for {
		p, err := e.admin.ListDeliveries(ctx, &surveyv1.ListDeliveriesRequest{InvitationId: id, PageSize: 1, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range p.GetDeliveries() {
			pages = append(pages, d.GetDeliveryId())
		}
		if token = p.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(pages) != 3 || pages[0] != all.GetDeliveries()[0].GetDeliveryId() || pages[2] != all.GetDeliveries()[2].GetDeliveryId() {
		t.Fatalf("paged %v", pages)
	}
	_, err = e.admin.ListDeliveries(ctx, &surveyv1.ListDeliveriesRequest{InvitationId: "not-a-uuid"})
	testkit.WantCode(t, err, 3) // InvalidArgument
	_, err = e.admin.ListDeliveries(ctx, &surveyv1.ListDeliveriesRequest{PageToken: "%%%"})
	testkit.WantCode(t, err, 3)
	_, err = e.pos.ListDeliveries(e.As("pos"), &surveyv1.ListDeliveriesRequest{})
	testkit.WantCode(t, err, 7) // PermissionDenied
}

func TestDeliveryFailures(t *testing.T) {
	e := startDelivery(t, func(c *service.Config) { c.Delivery.MaxAttempts = 2 })
	member := uuid.NewString()
	e.member(member, "en", "fail@example.test", "", true)

	// A permanent refusal fails at once.
	e.smtp.FailNext(1, 550)
	permanent := e.schedule(member, "en", time.Now())
	e.waitStatus(permanent, "FAILED")
	ev := testkit.WaitEvent(e.Env, subject[*surveyv1.InvitationDeliveryFailed](), func(ev *surveyv1.InvitationDeliveryFailed) bool {
		return ev.GetInvitationId() == permanent
	})
	if ev.GetAttempts() != 1 || !strings.Contains(ev.GetError(), "550") || ev.GetChannel() != surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL {
		t.Fatalf("event %v", ev)
	}
	if strings.Contains(ev.GetError(), "fail@example.test") ||
		e.db.Count(`SELECT count(*) FROM deliveries WHERE error LIKE '%fail@example.test%'`) != 0 {
		t.Fatalf("the member's address is in the error: %q", ev.GetError())
	}

	// Temporary refusals fail after the last attempt.
	e.smtp.FailNext(2, 451)
	temporary := e.schedule(member, "en", time.Now())
	e.waitStatus(temporary, "FAILED")
	ev = testkit.WaitEvent(e.Env, subject[*surveyv1.InvitationDeliveryFailed](), func(ev *surveyv1.InvitationDeliveryFailed) bool {
		return ev.GetInvitationId() == temporary
	})
	if ev.GetAttempts() != 2 {
		t.Fatalf("event %v", ev)
	}
	if n := e.db.Count(`SELECT count(*) FROM deliveries WHERE invitation_id = $1 AND outcome = 'FAILED'`, temporary); n != 1 {
		t.Fatalf("%d FAILED rows", n)
	}
	if len(e.smtp.Messages()) != 0 {
		t.Fatal("a refused message was kept")
	}
}

func TestDeliveryReminderOnceAfterN(t *testing.T) {
	e := startDelivery(t, func(c *service.Config) { c.Delivery.ReminderAfter = 700 * time.Millisecond })
	member, answers := uuid.NewString(), uuid.NewString()
	e.member(member, "en", "remind@example.test", "", true)
	e.member(answers, "en", "answers@example.test", "", true)
	id := e.schedule(member, "en", time.Now())
	other := e.schedule(answers, "en", time.Now())
	first := e.mailFor(other)
	// The other member answers before the reminder.
	if _, err := e.service.SubmitResponse(e.As("service"), &surveyv1.SubmitResponseRequest{
		Token: tokenOf(t, linkRE.FindString(first.Text)), Score: 8,
	}); err != nil {
		t.Fatal(err)
	}
	e.mailFor(id)
	r := e.smtp.WaitFor(t, func(m testkit.Mail) bool { return m.Header.Get("Message-Id") == "<"+id+".reminder@treue>" }, 10*time.Second)
	if r.Subject != "Reminder: How did we do?" || linkRE.FindString(r.Text) == "" {
		t.Fatalf("reminder %q\n%s", r.Subject, r.Text)
	}
	testkit.WaitEvent(e.Env, subject[*surveyv1.InvitationSent](), func(ev *surveyv1.InvitationSent) bool {
		return ev.GetInvitationId() == id && ev.GetReminder()
	})
	time.Sleep(1500 * time.Millisecond)
	if n := e.mailsFor(id); n != 2 {
		t.Fatalf("%d mails, want the invitation and one reminder", n)
	}
	if n := e.mailsFor(other); n != 1 {
		t.Fatalf("answered invitation: %d mails", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM deliveries WHERE invitation_id = $1 AND reminder AND outcome = 'SENT'`, id); n != 1 {
		t.Fatalf("%d reminder rows", n)
	}
}

func TestDeliveryExpiry(t *testing.T) {
	e := startDelivery(t)
	member := uuid.NewString()
	e.member(member, "en", "exp@example.test", "", true)
	id := uuid.NewString()
	e.exec(`INSERT INTO invitations (id, survey_id, member_id, locale, touchpoint, store_id, trigger_event_id,
			trigger_key, expires_at, created_at, status, due_at, sent_at)
		VALUES ($1, '0192f0c8-5a1e-7000-8000-000000000001', $2, 'en', 'WEB_VISIT', '', $3, $4, now() + interval '1 second', now(), 'SENT', now(), now())`,
		id, member, uuid.NewString(), "touchpoint:"+uuid.NewString())
	if e.status(id) != "SENT" {
		t.Fatal("expired at once")
	}
	e.waitStatus(id, "EXPIRED")
	// A scheduled one past its expiry (its delivery kept failing for days) expires instead of going out.
	late := e.schedule(member, "en", time.Now().Add(-service.DefaultLinkTTL-time.Minute))
	e.waitStatus(late, "EXPIRED")
	if e.mailsFor(late) != 0 {
		t.Fatal("an expired invitation was mailed")
	}
}

func TestUnsubscribeLink(t *testing.T) {
	e := startDelivery(t)
	member := uuid.NewString()
	e.member(member, "de", "unsub@example.test", "", true)
	id := e.schedule(member, "de", time.Now())
	m := e.mailFor(id)
	unsub := strings.Trim(m.Header.Get("List-Unsubscribe"), "<>")
	if !strings.Contains(m.Text, unsub) {
		t.Fatalf("the text has not the header's link %q", unsub)
	}
	u := e.local(unsub)
	consent := func() int64 {
		return e.db.Count(`SELECT count(*) FROM members WHERE member_id = $1 AND survey_consent`, member)
	}

	// GET (a mail scanner) changes nothing.
	for range 2 {
		resp, err := e.http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `<form method="post">`) || !strings.Contains(string(body), "Abmelden") {
			t.Fatalf("GET: %d\n%s", resp.StatusCode, body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("headers %v", resp.Header)
		}
	}
	if consent() != 1 {
		t.Fatal("GET withdrew consent")
	}
	// A survey token is no unsubscribe token, and a tampered one is refused.
	survey := linkRE.FindString(m.Text)
	for _, bad := range []string{e.baseURL + "/u/" + tokenOf(t, survey), u[:len(u)-2] + "xx"} {
		resp, err := e.http.PostForm(bad, url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("POST %s: %d", bad, resp.StatusCode)
		}
	}
	if consent() != 1 {
		t.Fatal("a bad token withdrew consent")
	}

	// The one-click POST of RFC 8058.
	resp, err := e.http.Post(u, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Sie sind abgemeldet") {
		t.Fatalf("POST: %d\n%s", resp.StatusCode, body)
	}
	if consent() != 0 {
		t.Fatal("consent not withdrawn")
	}
	ev := testkit.WaitEvent(e.Env, subject[*surveyv1.MemberUnsubscribed](), func(ev *surveyv1.MemberUnsubscribed) bool {
		return ev.GetMemberId() == member
	})
	if ev.GetInvitationId() != id || ev.GetChannel() != surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL {
		t.Fatalf("event %v", ev)
	}
	// The next due invitation is held back.
	next := e.schedule(member, "de", time.Now())
	e.waitStatus(next, "SUPPRESSED")
}

// webhookReceiver is a provider's endpoint on loopback that checks the signature.
type webhookReceiver struct {
	mu       sync.Mutex
	failures int // answer 503 to the next failures calls
	calls    []webhookCall
}

type webhookCall struct {
	status  int
	payload map[string]any
	eventID string
}

const webhookSecret = "webhook-secret-0123456789"

func (w *webhookReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sig := r.Header.Get("Treue-Signature")
	ts, v1, _ := strings.Cut(sig, ",")
	ts, v1 = strings.TrimPrefix(ts, "t="), strings.TrimPrefix(v1, "v1=")
	m := hmac.New(sha256.New, []byte(webhookSecret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	sec, _ := strconv.ParseInt(ts, 10, 64)
	status := http.StatusNoContent
	if !hmac.Equal([]byte(v1), []byte(hex.EncodeToString(m.Sum(nil)))) || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		status = http.StatusUnauthorized
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if status == http.StatusNoContent && w.failures > 0 {
		w.failures--
		status = http.StatusServiceUnavailable
	}
	var p map[string]any
	_ = json.Unmarshal(body, &p)
	w.calls = append(w.calls, webhookCall{status: status, payload: p, eventID: r.Header.Get("Treue-Event-Id")})
	rw.WriteHeader(status)
}

func (w *webhookReceiver) delivered(id string) []webhookCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []webhookCall
	for _, c := range w.calls {
		if c.eventID == id {
			out = append(out, c)
		}
	}
	return out
}

func TestDeliveryWebhook(t *testing.T) {
	recv := &webhookReceiver{failures: 2}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	e := startDelivery(t, func(c *service.Config) {
		c.Delivery.WebhookURL = srv.URL + "/sms"
		c.Delivery.WebhookSecret = webhookSecret
		c.Delivery.MaxAttempts = 3
	})
	member := uuid.NewString()
	e.member(member, "de", "", "", true) // no email: the webhook reaches them
	id := e.schedule(member, "de", time.Now())
	e.waitStatus(id, "SENT")
	calls := recv.delivered(id)
	if len(calls) != 3 || calls[0].status != 503 || calls[1].status != 503 || calls[2].status != 204 {
		t.Fatalf("calls %+v", calls)
	}
	p := calls[2].payload
	if p["invitation_id"] != id || p["member_id"] != member || p["locale"] != "de" || p["phone"] != "+4915112345678" ||
		p["channel"] != "WEBHOOK" || p["reminder"] != false || !strings.HasPrefix(p["url"].(string), publicURL+"/s/") || p["sent_at"] == "" {
		t.Fatalf("payload %v", p)
	}
	if _, ok := p["email"]; ok {
		t.Errorf("empty email sent: %v", p)
	}
	if n := e.db.Count(`SELECT count(*) FROM deliveries WHERE invitation_id = $1 AND channel = 'WEBHOOK'`, id); n != 3 {
		t.Fatalf("%d delivery rows", n)
	}

	// An endpoint that keeps failing: FAILED after the last attempt.
	recv.mu.Lock()
	recv.failures = 100
	recv.mu.Unlock()
	failing := e.schedule(member, "de", time.Now(), "WEBHOOK")
	e.waitStatus(failing, "FAILED")
	if n := len(recv.delivered(failing)); n != 3 {
		t.Fatalf("%d calls, want 3", n)
	}
	testkit.WaitEvent(e.Env, subject[*surveyv1.InvitationDeliveryFailed](), func(ev *surveyv1.InvitationDeliveryFailed) bool {
		return ev.GetInvitationId() == failing && ev.GetChannel() == surveyv1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK
	})
}

func TestDeliveryWithoutChannel(t *testing.T) {
	e := startDelivery(t)
	member := uuid.NewString()
	e.member(member, "en", "", "", true)
	none := e.schedule(member, "en", time.Now()) // EMAIL (no address), WEBHOOK (off), NONE
	nothing := e.schedule(member, "en", time.Now(), "EMAIL")
	e.waitStatus(none, "SENT")
	e.waitStatus(nothing, "SUPPRESSED")
	if n := e.db.Count(`SELECT count(*) FROM invitations WHERE id = $1 AND channel = 'NONE'`, none); n != 1 {
		t.Fatal("not sent through NONE")
	}
	if n := e.db.Count(`SELECT count(*) FROM suppressions WHERE invitation_id = $1 AND reason = 'NO_CHANNEL'`, nothing); n != 1 {
		t.Fatal("no NO_CHANNEL suppression")
	}
}

// TestDeliveryRetiredSurvey: an invitation to a survey retired before it was due is held
// back. (The column comes with survey definitions; the dispatcher reads it when it exists.)
func TestDeliveryRetiredSurvey(t *testing.T) {
	e := startDelivery(t)
	e.exec(`ALTER TABLE surveys ADD COLUMN IF NOT EXISTS retired_at timestamptz`)
	member := uuid.NewString()
	e.member(member, "en", "retired@example.test", "", true)
	e.exec(`UPDATE surveys SET retired_at = now() WHERE id = '0192f0c8-5a1e-7000-8000-000000000001'`)
	id := e.schedule(member, "en", time.Now())
	e.waitStatus(id, "SUPPRESSED")
	if n := e.db.Count(`SELECT count(*) FROM suppressions WHERE invitation_id = $1 AND reason = 'SURVEY_RETIRED'`, id); n != 1 {
		t.Fatal("no SURVEY_RETIRED suppression")
	}
	if e.mailsFor(id) != 0 {
		t.Fatal("mailed")
	}
}

// TestDeliveryTwoReplicasSendEachOnce: two survey services on one database dispatch the
// same 300 due invitations; each is mailed exactly once and logged once.
func TestDeliveryTwoReplicasSendEachOnce(t *testing.T) {
	e := startDelivery(t, func(c *service.Config) {
		c.Delivery.Batch = 10
		c.Delivery.Parallel = 4
		c.Delivery.DispatchInterval = 10 * time.Millisecond
	})
	cfg := service.Config{
		Base: e.Base(), PublicURL: publicURL, TokenSecret: testSecret, ContactInterval: service.DefaultContactInterval,
		LinkTTL: service.DefaultLinkTTL, PendingTTL: service.DefaultPendingTTL, Delivery: service.DefaultDeliveryConfig(),
	}
	cfg.Delivery.SMTPAddr, cfg.Delivery.QuietHours = e.smtp.Addr(), "off"
	cfg.Delivery.Batch, cfg.Delivery.Parallel, cfg.Delivery.DispatchInterval = 10, 4, 10*time.Millisecond
	testkit.Start(t, service.New, cfg)

	const n = 300
	ids := make([]string, n)
	members := make([]string, n)
	for i := range ids {
		ids[i], members[i] = uuid.NewString(), uuid.NewString()
	}
	e.exec(`WITH m AS (INSERT INTO members (member_id, locale, survey_consent, as_of, email)
			SELECT unnest($2::text[]), 'en', true, now(), 'replica@example.test')
		INSERT INTO invitations (id, survey_id, member_id, locale, touchpoint, store_id, trigger_event_id,
			trigger_key, expires_at, created_at, status, due_at, channels)
		SELECT u.id, '0192f0c8-5a1e-7000-8000-000000000001', u.member, 'en', 'PURCHASE', 'S1', u.id::text,
			'pos:S1:' || u.id::text, date_trunc('second', now()) + interval '7 days', now(), 'SCHEDULED', now(), '{EMAIL}'
		FROM unnest($1::uuid[], $2::text[]) AS u(id, member)`, ids, members)
	testkit.Eventually(t, 60*time.Second, "all sent", func() bool {
		return e.db.Count(`SELECT count(*) FROM invitations WHERE id = ANY($1) AND status = 'SENT'`, ids) == n
	})
	time.Sleep(300 * time.Millisecond)
	count := map[string]int{}
	for _, m := range e.smtp.Messages() {
		count[m.Header.Get("Message-Id")]++
	}
	for _, id := range ids {
		if c := count["<"+id+"@treue>"]; c != 1 {
			t.Errorf("%s mailed %d times", id, c)
		}
	}
	if k := e.db.Count(`SELECT count(*) FROM deliveries WHERE invitation_id = ANY($1)`, ids); k != n {
		t.Fatalf("%d delivery rows, want %d", k, n)
	}
	if k := e.db.Count(`SELECT count(*) FROM invitations WHERE id = ANY($1) AND attempts <> 1`, ids); k != 0 {
		t.Fatalf("%d invitations claimed more than once", k)
	}
}
