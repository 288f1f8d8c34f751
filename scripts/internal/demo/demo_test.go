package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/treue/treue/pkg/devstack"
	"github.com/treue/treue/pkg/natsauth"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	"github.com/treue/treue/scripts/internal/stack"
)

// The dev stack as `make run` starts it: the embedded NATS server takes the generated
// users only, every service connects with its own seed, and the POS simulator publishes
// each store's purchases with that store's credentials, through the whole demo.
func TestDemoRunsUnderNATSAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the five services")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NATS_URL", "") // the embedded server, whatever the shell says
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The survey service sends its emails to a real SMTP server, as make run's mailbox.
	catcher, err := devstack.StartSMTPCatcher("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer catcher.Close()
	s, err := stack.Up(ctx, stack.Options{
		Root: root, DataDir: t.TempDir(), Database: "treue_demo_" + hex.EncodeToString(b),
		Auth: true, Stores: stores, Log: log,
		Env: []string{"SURVEY_SMTP_ADDR=" + catcher.Addr(), "SURVEY_SMTP_TLS=none", "SURVEY_QUIET_HOURS=off"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		s.Down()
		if err := stack.DropDatabase(context.Background(), s.DatabaseURL); err != nil {
			t.Error(err)
		}
	}()
	if s.NATSSeeds == "" {
		t.Fatal("the stack runs NATS without auth")
	}
	if nc, err := nats.Connect(s.NATSURL, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected to the dev stack's NATS")
	}
	res, err := Run(ctx, s, io.Discard, log)
	if err != nil {
		t.Fatalf("demo under NATS auth: %v (logs in %s)", err, s.LogDir)
	}
	if res.CouponCode == "" || len(res.Members) != len(people) {
		t.Errorf("demo result %+v: want a coupon and %d members", res, len(people))
	}
	if res.ServiceCalls != 3 {
		t.Errorf("%d service calls published, want 3", res.ServiceCalls)
	}
	checkDemoEmails(t, catcher, len(people), res.SurveyLinks)
	checkDemoTopics(ctx, t, s, res.Comments)

	// Each store's seed is where dev.env says, for the nats CLI.
	for _, store := range stores {
		if _, err := os.Stat(natsauth.SeedFile(s.NATSSeeds, natsauth.StoreUser(store))); err != nil {
			t.Error(err)
		}
	}
}

// checkDemoTopics: the demo's comments name topics of the seeded taxonomy, and reporting
// counts them (feedback announces them, reporting reads them, both under NATS auth).
func checkDemoTopics(ctx context.Context, t *testing.T, s *stack.Stack, answered []string) {
	t.Helper()
	// The topics of the comments the demo answered with (the seeded taxonomy).
	want := map[string]bool{}
	for _, c := range answered {
		switch {
		case strings.Contains(c, "staff"):
			want["staff"] = true
		case strings.Contains(c, "Waited"):
			want["queue"] = true
		}
	}
	if len(want) == 0 {
		t.Fatalf("the demo answered no survey with a comment that names a topic (answered %q)", answered)
	}
	conn, err := s.Conn("reporting", "marketing")
	if err != nil {
		t.Fatal(err)
	}
	client := reportingv1.NewReportingServiceClient(conn)
	var got map[string]int64
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.GetTopics(ctx, &reportingv1.GetTopicsRequest{})
		if err != nil {
			t.Fatalf("GetTopics: %v", err)
		}
		got = map[string]int64{}
		for _, f := range resp.GetTopics() {
			got[f.GetTopic()] = f.GetMentions()
		}
		reported := true
		for topic := range want {
			reported = reported && got[topic] > 0
		}
		if reported {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("topics reported %v; want %v (the demo's comments %q)", got, want, answered)
}

// checkDemoEmails: the demo's survey emails reach its members' addresses, in German and
// in English, and a link from one opens the survey, which takes an answer (as a browser
// without JavaScript posts it) and thanks.
func checkDemoEmails(t *testing.T, catcher *devstack.SMTPCatcher, members int, open []string) {
	t.Helper()
	// Without the demo's delayed rule, every member's first contact is surveyed at once
	// (the seeded rule), except the returned purchase's.
	deadline := time.Now().Add(30 * time.Second)
	for len(catcher.Messages()) < members-1 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	msgs := catcher.Messages()
	langs := map[string]int{}
	to := map[string]bool{}
	for _, m := range msgs {
		langs[m.Header.Get("Content-Language")]++
		for _, a := range m.To {
			to[a] = true
		}
	}
	if len(msgs) < members-1 || langs["de"] == 0 || langs["en"] == 0 {
		t.Fatalf("%d emails by language %v; want %d or more, in de and en", len(msgs), langs, members-1)
	}
	t.Logf("%d demo emails, by language %v", len(msgs), langs)
	for n := 1; n <= members; n++ {
		delete(to, Email(n))
	}
	if len(to) != 0 || !slices.ContainsFunc(msgs, func(m devstack.Mail) bool { return m.To[0] == Email(members) }) {
		t.Errorf("emails to %v beside the demo members', or none to %s (a caller)", to, Email(members))
	}
	// A link the demo left unanswered, as the summary prints it, is in an email.
	if len(open) == 0 {
		t.Fatal("the demo left no survey unanswered")
	}
	link := open[0]
	if !slices.ContainsFunc(msgs, func(m devstack.Mail) bool { return strings.Contains(m.Text, link) }) {
		t.Fatalf("no email has the link %s", link)
	}
	page := func(method string, form url.Values) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if method == http.MethodGet {
			resp, err = http.Get(link)
		} else {
			resp, err = http.PostForm(link, form)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := page(http.MethodGet, nil); code != http.StatusOK || !strings.Contains(body, `name="q.nps"`) {
		t.Fatalf("the email's link %s: %d\n%s", link, code, body)
	}
	// A 10 shows the follow-up for promoters on a next page; with it answered, thanks.
	code, body := page(http.MethodPost, url.Values{"_shown": {"nps"}, "q.nps": {"10"}})
	shown := regexp.MustCompile(`name="_shown" value="([^"]*)"`).FindStringSubmatch(body)
	if code != http.StatusOK || shown == nil || !strings.Contains(shown[1], "praise") {
		t.Fatalf("after a 10: %d\n%s", code, body)
	}
	code, body = page(http.MethodPost, url.Values{"_shown": {shown[1]}, "q.nps": {"10"}, "q.praise": {"The coffee."}})
	if code != http.StatusOK || !strings.Contains(body, `id="thanks"`) {
		t.Fatalf("the answer: %d\n%s", code, body)
	}
	if code, _ := page(http.MethodPost, url.Values{"_shown": {"nps"}, "q.nps": {"3"}}); code != http.StatusConflict {
		t.Errorf("a second answer: %d, want 409", code)
	}
}
