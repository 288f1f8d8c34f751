package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/treue/treue/pkg/devstack"
	"github.com/treue/treue/pkg/testkit/browser"
)

const demoMailMsg = "From: Treue Demo <surveys@treue.invalid>\r\n" +
	"To: erika@example.test\r\n" +
	"Subject: How did we do?\r\n" +
	"Message-ID: <0192-demo@treue>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=B\r\n" +
	"\r\n" +
	"--B\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"\r\n" +
	"Answer the survey:\r\n%[1]s/s/token-1\r\n<script>alert(1)</script>\r\n" +
	"--B\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"\r\n" +
	"<p><a id=\"button\" href=\"%[1]s/s/token-1\">Answer the survey</a></p>\r\n" +
	"--B--\r\n"

// TestDemoMailboxInChromium sends an email to the catcher and reads it on the mailbox page
// in a real headless Chromium: listed, opened, its links clickable (in the text and in
// the HTML, which leads the whole window to the survey).
func TestDemoMailboxInChromium(t *testing.T) {
	catcher, err := devstack.StartSMTPCatcher("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer catcher.Close()
	box := httptest.NewServer(mailbox(catcher))
	defer box.Close()
	survey := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<!DOCTYPE html><title>survey</title><h1 id=survey>survey %s</h1>", r.URL.Path)
	}))
	defer survey.Close()
	if err := smtp.SendMail(catcher.Addr(), nil, "surveys@treue.invalid", []string{"erika@example.test"},
		[]byte(fmt.Sprintf(demoMailMsg, survey.URL))); err != nil {
		t.Fatal(err)
	}

	ctx := browser.New(t, browser.DesktopWidth, browser.DesktopHeight)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browser.Do(t, ctx, what, steps...)
	}
	text := func(sel string) string { t.Helper(); return browser.Text(t, ctx, sel) }
	attr := func(sel, name string) string {
		t.Helper()
		a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
		if err != nil {
			t.Fatalf("%s of %s: %v", name, sel, err)
		}
		return a.Value
	}

	run("open the mailbox", chromedp.Navigate(box.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table")))
	if list := text("table"); !strings.Contains(list, "erika@example.test") || !strings.Contains(list, "How did we do?") {
		t.Fatalf("list %q", list)
	}
	run("open the email", chromedp.Click(chromedp.CSS(`a[href="/m/0"]`)), chromedp.WaitVisible(chromedp.CSS("#text")))
	scripts := browser.Eval[int](t, ctx, `document.querySelectorAll('script').length`)
	if subject, body := text("h1"), text("#text"); subject != "How did we do?" || !strings.Contains(body, "<script>alert(1)</script>") || scripts != 0 {
		t.Fatalf("message %q %q (%d scripts)", subject, body, scripts)
	}
	if href, frame := attr("#text a", "href"), attr("iframe", "src"); href != survey.URL+"/s/token-1" || frame != "/m/0/html" {
		t.Fatalf("link %q, frame %q", href, frame)
	}
	// The text's link opens the survey.
	run("follow the text's link", chromedp.Click(chromedp.CSS("#text a")), chromedp.WaitVisible(chromedp.CSS("#survey")))
	if landed := text("#survey"); landed != "survey /s/token-1" {
		t.Fatalf("landed on %q", landed)
	}
	// The HTML part alone, as the frame shows it: its button leads to the survey too.
	run("follow the HTML's button", chromedp.Navigate(box.URL+"/m/0/html"), chromedp.Click(chromedp.CSS("#button")),
		chromedp.WaitVisible(chromedp.CSS("#survey")))
	if landed := text("#survey"); landed != "survey /s/token-1" {
		t.Fatalf("HTML button landed on %q", landed)
	}
	resp, err := http.Get(box.URL + "/m/7")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing message: %d", resp.StatusCode)
	}
}

func TestStartDemoMailSetsTheSurveyEnvironment(t *testing.T) {
	t.Setenv("SURVEY_SMTP_ADDR", "")
	t.Setenv("SURVEY_QUIET_HOURS", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := startDemoMail(ctx, slog.Default())
	if m == nil || !strings.HasPrefix(m.URL, "http://127.0.0.1:") {
		t.Fatalf("mailbox %+v", m)
	}
	url := m.URL
	addr := testenv("SURVEY_SMTP_ADDR")
	if addr != m.SMTPAddr {
		t.Errorf("SURVEY_SMTP_ADDR=%s, the catcher is on %s", addr, m.SMTPAddr)
	}
	if err := smtp.SendMail(addr, nil, "a@treue.invalid", []string{"b@example.test"}, []byte("Subject: hi\r\n\r\nbody\r\n")); err != nil {
		t.Fatalf("send to %s: %v", addr, err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, resp.Status)
	buf := make([]byte, 64<<10)
	n, _ := resp.Body.Read(buf)
	if resp.StatusCode != 200 || !strings.Contains(string(buf[:n]), ">hi</a>") || testenv("SURVEY_QUIET_HOURS") != "off" {
		t.Fatalf("%s\n%s", b.String(), buf[:n])
	}
}

func testenv(k string) string { return strings.TrimSpace(os.Getenv(k)) }

// A SURVEY_SMTP_ADDR of the user's own wins: no demo mailbox, which would stay empty.
func TestStartDemoMailLeavesAnSMTPServerOfTheUsers(t *testing.T) {
	t.Setenv("SURVEY_SMTP_ADDR", "smtp.example.test:587")
	t.Setenv("SURVEY_QUIET_HOURS", "")
	if m := startDemoMail(context.Background(), slog.Default()); m != nil {
		t.Fatalf("a demo mailbox %+v beside the user's SMTP server", m)
	}
	if testenv("SURVEY_SMTP_ADDR") != "smtp.example.test:587" || testenv("SURVEY_QUIET_HOURS") != "" {
		t.Errorf("changed the environment: %q %q", testenv("SURVEY_SMTP_ADDR"), testenv("SURVEY_QUIET_HOURS"))
	}
}

func sendTestMail(t *testing.T, addr, subject string) {
	t.Helper()
	if err := smtp.SendMail(addr, nil, "a@treue.invalid", []string{"b@example.test"}, []byte("Subject: "+subject+"\r\n\r\nbody\r\n")); err != nil {
		t.Fatalf("send to %s: %v", addr, err)
	}
}

// syncBuffer is a strings.Builder that a goroutine writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
