package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/treue/treue/pkg/devstack"
)

// Where make run's SMTP catcher and its mailbox page listen (the next free port when
// taken).
const (
	demoSMTPPort = 2525
	demoMailPort = 8025
)

// demoMail is make run's mailbox: an SMTP catcher and the page to read what it caught.
type demoMail struct {
	URL      string // the mailbox page
	SMTPAddr string
	catcher  *devstack.SMTPCatcher
}

// Count is how many emails arrived so far.
func (m *demoMail) Count() int { return len(m.catcher.Messages()) }

// startDemoMail starts an SMTP catcher (go-smtp, in this process) that keeps every email
// the demo's survey service sends, and a small web page to read them. It points the
// services started after it at the catcher (SURVEY_SMTP_ADDR, unless set; quiet hours off
// for the demo, unless set), prints where to read the emails and returns the mailbox.
// Both stop with ctx. Without it (a port problem, or SURVEY_SMTP_ADDR naming another
// server) it returns nil: the demo runs on, with the emails sent elsewhere or not at all.
//
// Wiring: one call before stack.Up.
func startDemoMail(ctx context.Context, log *slog.Logger) *demoMail {
	if addr := os.Getenv("SURVEY_SMTP_ADDR"); addr != "" {
		log.Info("survey emails go to SURVEY_SMTP_ADDR; no demo mailbox", "addr", addr)
		return nil
	}
	m, err := serveDemoMail(ctx)
	if err != nil {
		log.Warn("no demo mailbox: survey emails are not sent", "err", err)
		return nil
	}
	fmt.Printf("Treue: demo mailbox %s (SMTP catcher on %s): the survey emails arrive there\n", m.URL, m.SMTPAddr)
	return m
}

// serveDemoMail starts the catcher and the page; see startDemoMail.
func serveDemoMail(ctx context.Context) (*demoMail, error) {
	catcher, err := listenNextFree(demoSMTPPort, devstack.StartSMTPCatcher)
	if err != nil {
		return nil, fmt.Errorf("demo SMTP catcher: %w", err)
	}
	web, err := listenNextFree(demoMailPort, func(addr string) (net.Listener, error) { return net.Listen("tcp", addr) })
	if err != nil {
		_ = catcher.Close()
		return nil, fmt.Errorf("demo mailbox page: %w", err)
	}
	srv := &http.Server{Handler: mailbox(catcher), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(web) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
		_ = catcher.Close()
	}()
	setDefaultEnv("SURVEY_SMTP_ADDR", catcher.Addr())
	setDefaultEnv("SURVEY_SMTP_TLS", "none")
	// The feedback service's emails to staff (a case assigned, a reminder, an escalation)
	// and to members (a goodwill coupon's code) arrive in the same mailbox.
	setDefaultEnv("FEEDBACK_SMTP_ADDR", catcher.Addr())
	setDefaultEnv("FEEDBACK_SMTP_TLS", "none")
	setDefaultEnv("SURVEY_MAIL_FROM", "Treue Demo <surveys@treue.invalid>")
	// The demo's members live in European time zones: at night their emails would wait
	// for the morning, and the user would see none.
	setDefaultEnv("SURVEY_QUIET_HOURS", "off")
	return &demoMail{URL: "http://" + web.Addr().String() + "/", SMTPAddr: catcher.Addr(), catcher: catcher}, nil
}

// watch prints a line for each email that arrives from now on, until ctx ends: the
// emails a trigger rule's delay sends later in the run.
func (m *demoMail) watch(ctx context.Context, out io.Writer) {
	seen := m.Count()
	for {
		changed := m.catcher.Changed()
		msgs := m.catcher.Messages()
		for n := seen; n < len(msgs); n++ {
			fmt.Fprintf(out, "Treue: %s email to %s: %q  %sm/%d\n", msgs[n].Received.Format("15:04:05"),
				strings.Join(msgs[n].To, ", "), msgs[n].Subject, m.URL, n)
		}
		seen = len(msgs)
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

func setDefaultEnv(key, value string) {
	if os.Getenv(key) == "" {
		_ = os.Setenv(key, value)
	}
}

// listenNextFree tries port and the next 20 on 127.0.0.1.
func listenNextFree[T any](port int, listen func(addr string) (T, error)) (T, error) {
	var errs []error
	for p := port; p < port+20; p++ {
		v, err := listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			return v, nil
		}
		errs = append(errs, err)
	}
	var zero T
	return zero, errors.Join(errs...)
}

// mailbox serves the caught emails: GET / lists them, newest first; GET /m/{n} shows one
// (headers, the plain text with its links clickable, the HTML in a frame); GET
// /m/{n}/html is the HTML part alone.
func mailbox(c *devstack.SMTPCatcher) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		msgs := c.Messages()
		rows := make([]mailRow, len(msgs))
		for i, m := range msgs {
			rows[i] = mailRow{N: i, Mail: m}
		}
		slices.Reverse(rows)
		render(w, listTemplate, rows)
	})
	mux.HandleFunc("GET /m/{n}", func(w http.ResponseWriter, r *http.Request) {
		m, n, ok := pick(c, r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		render(w, mailTemplate, mailRow{N: n, Mail: m, Text: linkify(m.Text)})
	})
	mux.HandleFunc("GET /m/{n}/html", func(w http.ResponseWriter, r *http.Request) {
		m, _, ok := pick(c, r)
		if !ok || m.HTML == "" {
			http.NotFound(w, r)
			return
		}
		// The email as a mail client shows it: no scripts, its links open in the window.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data: http: https:")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<base target="_top">` + m.HTML))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		mux.ServeHTTP(w, r)
	})
}

func pick(c *devstack.SMTPCatcher, r *http.Request) (devstack.Mail, int, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	msgs := c.Messages()
	if err != nil || n < 0 || n >= len(msgs) {
		return devstack.Mail{}, 0, false
	}
	return msgs[n], n, true
}

type mailRow struct {
	N int
	devstack.Mail
	Text template.HTML
}

var urlRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// linkify escapes text and makes its URLs links.
func linkify(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, loc := range urlRE.FindAllStringIndex(text, -1) {
		b.WriteString(template.HTMLEscapeString(text[last:loc[0]]))
		u := template.HTMLEscapeString(text[loc[0]:loc[1]])
		b.WriteString(`<a href="` + u + `">` + u + `</a>`)
		last = loc[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}

func render(w http.ResponseWriter, t *template.Template, v any) {
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'")
	_, _ = w.Write([]byte(b.String()))
}

const mailboxStyle = `<style>body{font-family:system-ui,sans-serif;margin:0;padding:1rem 1.5rem;color:#1c1917}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #e7e5e4}
pre{white-space:pre-wrap;background:#f5f5f4;padding:.8rem;border-radius:.4rem}
iframe{width:100%;height:36rem;border:1px solid #d6d3d1;border-radius:.4rem}dt{font-weight:600}dd{margin:0 0 .4rem 0}</style>`

var listTemplate = template.Must(template.New("list").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo emails</title>` + mailboxStyle + `</head><body>
<h1>Demo emails</h1>
<p>Every email the demo's services sent (surveys, staff notifications, goodwill coupons) ({{len .}}), newest first. Reload for new ones.</p>
{{if .}}<table><thead><tr><th>Received</th><th>To</th><th>Subject</th></tr></thead><tbody>
{{range .}}<tr><td>{{.Received.Format "15:04:05"}}</td><td>{{range .To}}{{.}} {{end}}</td><td><a href="/m/{{.N}}">{{.Subject}}</a></td></tr>
{{end}}</tbody></table>{{else}}<p>No email yet.</p>{{end}}
</body></html>`))

var mailTemplate = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>` + mailboxStyle + `</head><body>
<p><a href="/">All emails</a></p>
<h1>{{.Subject}}</h1>
<dl><dt>From</dt><dd>{{.Header.Get "From"}}</dd><dt>To</dt><dd>{{.Header.Get "To"}}</dd>
<dt>Date</dt><dd>{{.Header.Get "Date"}}</dd><dt>Message-ID</dt><dd>{{.Header.Get "Message-Id"}}</dd>
{{with .Header.Get "List-Unsubscribe"}}<dt>List-Unsubscribe</dt><dd>{{.}}</dd>{{end}}</dl>
{{if .HTML}}<h2>HTML</h2>
<iframe title="The email as HTML" src="/m/{{.N}}/html" sandbox="allow-top-navigation-by-user-activation allow-popups"></iframe>{{end}}
<h2>Plain text</h2>
<pre id="text">{{.Text}}</pre>
</body></html>`))
