// Package mail tells staff about cases by email over SMTP (go-mail): assignments,
// reminders before a deadline and escalations. The connection is configured like the
// survey service's delivery (TLS none, starttls or tls; optional authentication).
package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/treue/treue/services/feedback/internal/app"
)

// TLS modes of the SMTP connection.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// Config is how to reach the SMTP server.
// DefaultTimeout bounds one email's SMTP conversation unless Config.Timeout says otherwise.
const DefaultTimeout = 30 * time.Second

type Config struct {
	Addr     string // host:port
	Username string // empty: no authentication
	Password string
	TLS      string // none, starttls, tls
	From     string // the From address ("Treue <cases@shop.example>")
	Timeout  time.Duration
}

// Sender sends case notifications; it implements app.Notifier.
type Sender struct {
	cfg  Config
	host string
	port int
}

var _ app.Notifier = (*Sender)(nil)

// New returns a sender for cfg; it checks the address, TLS mode and From.
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
		cfg.Timeout = DefaultTimeout
	}
	if err := gomail.NewMsg().From(cfg.From); err != nil {
		return nil, fmt.Errorf("mail from %q: %w", cfg.From, err)
	}
	return &Sender{cfg: cfg, host: host, port: port}, nil
}

// Build returns the email of n.
func (s *Sender) Build(n app.Notification) (*gomail.Msg, error) {
	msg, err := s.message(n.To.Name, n.To.Email, n.Subject, n.Body, n.CaseID)
	if err != nil {
		return nil, fmt.Errorf("address of staff %s: %w", n.To.ID, err)
	}
	return msg, nil
}

// message is a plain-text email about a case.
func (s *Sender) message(name, email, subject, body, caseID string) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, err
	}
	if err := msg.AddToFormat(name, email); err != nil {
		return nil, err
	}
	msg.Subject(subject)
	msg.SetDate()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader("X-Treue-Case", caseID)
	msg.SetBodyString(gomail.TypeTextPlain, body)
	return msg, nil
}

// Notify implements app.Notifier.
func (s *Sender) Notify(ctx context.Context, n app.Notification) error {
	msg, err := s.Build(n)
	if err != nil {
		return err
	}
	return s.send(ctx, msg)
}

var _ app.MemberMailer = (*Sender)(nil)

// MailMember implements app.MemberMailer: the member's goodwill coupon, say.
func (s *Sender) MailMember(ctx context.Context, m app.MemberMail) error {
	msg, err := s.message(m.Name, m.Email, m.Subject, m.Body, m.CaseID)
	if err != nil {
		return fmt.Errorf("member's email: %w", err)
	}
	return s.send(ctx, msg)
}

// send delivers msg over SMTP as configured.
func (s *Sender) send(ctx context.Context, msg *gomail.Msg) error {
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
	return client.DialAndSendWithContext(ctx, msg)
}
