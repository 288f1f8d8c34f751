// Package mail delivers survey invitations by email over SMTP (go-mail): HTML and plain
// text in the member's language, with the survey link and an unsubscribe link (also as
// RFC 8058 List-Unsubscribe headers).
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net"
	"strconv"
	texttemplate "text/template"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

//go:embed templates
var templates embed.FS

var (
	htmlTmpl = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/invitation.html"))
	textTmpl = texttemplate.Must(texttemplate.ParseFS(templates, "templates/invitation.txt"))
)

// TLS modes of the SMTP connection.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// Config is how to reach the SMTP server.
type Config struct {
	Addr     string // host:port
	Username string // empty: no authentication
	Password string
	TLS      string // none, starttls, tls
	From     string // the From address (may carry a name: "Shop <surveys@shop.example>")
	Timeout  time.Duration
}

// Texts is an email's wording in one language.
type Texts struct {
	Subject, ReminderSubject, Greeting, Intro, ReminderIntro, Button, LinkText, Footer, Unsubscribe string
	// ReminderPrefix goes before a survey's own subject in a reminder.
	ReminderPrefix string
}

// texts are the emails' wording by language; English is the fallback.
var texts = map[string]Texts{
	"en": {
		Subject:         "How did we do? Your opinion counts",
		ReminderSubject: "Reminder: how did we do?",
		ReminderPrefix:  "Reminder: ",
		Greeting:        "Hello,",
		Intro:           "Thank you for your recent visit. Would you take a minute to tell us how we did? It is one question, and it helps us get better.",
		ReminderIntro:   "A few days ago we asked how we did. If you have a minute, we would still love to hear from you.",
		Button:          "Answer the survey",
		LinkText:        "If the button does not work, copy this link into your browser:",
		Footer:          "You receive this email because you are a member of our loyalty programme and agreed to be asked for your opinion.",
		Unsubscribe:     "No more surveys? Unsubscribe",
	},
	"de": {
		Subject:         "Wie war es? Ihre Meinung zählt",
		ReminderSubject: "Erinnerung: Wie war es?",
		ReminderPrefix:  "Erinnerung: ",
		Greeting:        "Hallo,",
		Intro:           "Vielen Dank für Ihren Besuch. Nehmen Sie sich eine Minute, um uns zu sagen, wie zufrieden Sie waren? Es ist eine Frage, und sie hilft uns, besser zu werden.",
		ReminderIntro:   "Vor ein paar Tagen haben wir Sie nach Ihrer Meinung gefragt. Wenn Sie eine Minute haben, freuen wir uns weiterhin über Ihre Antwort.",
		Button:          "Zur Umfrage",
		LinkText:        "Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in Ihren Browser:",
		Footer:          "Sie erhalten diese E-Mail, weil Sie Mitglied unseres Kundenprogramms sind und zugestimmt haben, nach Ihrer Meinung gefragt zu werden.",
		Unsubscribe:     "Keine Umfragen mehr? Abmelden",
	},
}

// TextsFor returns the wording for a locale and the language chosen (English fallback).
func TextsFor(locale string) (string, Texts) {
	lang := domain.Language(locale)
	if t, ok := texts[lang]; ok {
		return lang, t
	}
	return "en", texts["en"]
}

// Sender sends survey emails; it implements app.Sender.
type Sender struct {
	cfg  Config
	host string
	port int
}

// New returns a sender for cfg; it checks the address and TLS mode.
func New(cfg Config) (*Sender, error) {
	host, portText, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("SMTP address %q: %w", cfg.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("SMTP address %q: bad port", cfg.Addr)
	}
	switch cfg.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return nil, fmt.Errorf("SMTP TLS mode %q: want none, starttls or tls", cfg.TLS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	probe := gomail.NewMsg()
	if err := probe.From(cfg.From); err != nil {
		return nil, fmt.Errorf("mail from %q: %w", cfg.From, err)
	}
	return &Sender{cfg: cfg, host: host, port: port}, nil
}

type view struct {
	Lang                string
	T                   Texts
	URL, UnsubscribeURL string
	Reminder            bool
}

// MessageID is the Message-ID of an invitation's email (without brackets): the same for
// every attempt, so a receiver can drop the one duplicate a crash may cause. The reminder
// has its own.
func MessageID(invitationID string, reminder bool) string {
	if reminder {
		return invitationID + ".reminder@treue"
	}
	return invitationID + "@treue"
}

// Build returns the email of m.
func (s *Sender) Build(m app.Outgoing) (*gomail.Msg, error) {
	lang, t := TextsFor(m.Locale)
	v := view{Lang: lang, T: t, URL: m.URL, UnsubscribeURL: m.UnsubscribeURL, Reminder: m.Reminder}
	var html, text bytes.Buffer
	if err := htmlTmpl.Execute(&html, v); err != nil {
		return nil, err
	}
	if err := textTmpl.Execute(&text, v); err != nil {
		return nil, err
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, err
	}
	if err := msg.To(m.Email); err != nil {
		return nil, fmt.Errorf("%w: address: %v", domain.ErrPermanentDelivery, err)
	}
	subject := t.Subject
	switch {
	case m.Subject != "" && m.Reminder:
		subject = t.ReminderPrefix + m.Subject
	case m.Subject != "":
		subject = m.Subject
	case m.Reminder:
		subject = t.ReminderSubject
	}
	msg.Subject(subject)
	msg.SetMessageIDWithValue(MessageID(m.InvitationID, m.Reminder))
	msg.SetDateWithValue(m.SentAt)
	msg.SetGenHeader(gomail.HeaderContentLang, lang)
	msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+m.UnsubscribeURL+">")
	msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, text.String())
	msg.AddAlternativeString(gomail.TypeTextHTML, html.String())
	return msg, nil
}

// Send implements app.Sender. A permanent refusal (5xx) wraps domain.ErrPermanentDelivery.
func (s *Sender) Send(ctx context.Context, m app.Outgoing) error {
	msg, err := s.Build(m)
	if err != nil {
		return err
	}
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(s.cfg.Timeout), gomail.WithoutNoop()}
	switch s.cfg.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	if s.cfg.TLS != TLSNone {
		opts = append(opts, gomail.WithTLSConfig(&tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return err
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return fmt.Errorf("%w: %v", domain.ErrPermanentDelivery, err)
		}
		return err
	}
	return nil
}
