package service

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/svc"

	"github.com/treue/treue/services/feedback/internal/adapters/mail"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
	"github.com/treue/treue/services/feedback/internal/ports/grpcapi"
)

// Defaults of the case lifecycle.
const (
	DefaultFirstContactSLA = 4 * time.Hour
	DefaultReminderAt      = 0.8
	DefaultEscalationStep  = 4 * time.Hour
	DefaultSweepInterval   = 30 * time.Second
	DefaultSweepBatch      = 200
)

// LifecycleConfig is the case lifecycle's configuration: SLA defaults, the reminder and
// escalation sweep, the staff emails and which teams service agents work.
type LifecycleConfig struct {
	// FirstContactSLA is the first-contact target (business time) of a rule without one
	// (FEEDBACK_FIRST_CONTACT_SLA, default 4h); never beyond the resolution target.
	FirstContactSLA time.Duration
	// ReminderAt is the share of a deadline's target after which the assignee is reminded,
	// once (FEEDBACK_SLA_REMINDER_AT, default 0.8; 0 turns reminders off).
	ReminderAt float64
	// EscalationStep is the business time between escalation levels: a missed deadline
	// tells the assignee, a step later the team lead, two steps later the manager
	// (FEEDBACK_ESCALATION_STEP, default 4h).
	EscalationStep time.Duration
	// SweepInterval: how often reminders and escalations are looked for
	// (FEEDBACK_SLA_SWEEP_INTERVAL, default 30s); SweepBatch cases per pass.
	SweepInterval time.Duration
	SweepBatch    int
	// SMTPAddr is the SMTP server of staff emails (FEEDBACK_SMTP_ADDR); empty: no email.
	SMTPAddr     string
	SMTPUsername string // FEEDBACK_SMTP_USERNAME
	SMTPPassword string // FEEDBACK_SMTP_PASSWORD
	// SMTPTLS is none, starttls or tls (FEEDBACK_SMTP_TLS); empty: starttls, except none
	// for a loopback server.
	SMTPTLS  string
	MailFrom string // FEEDBACK_MAIL_FROM
	// AgentTeams confines service_agent API keys to teams, by key name
	// (FEEDBACK_AGENT_TEAMS="alice=customer-service;bob=customer-service|marketing").
	// Empty: service agents work every team; set: an unlisted service agent works none.
	AgentTeams map[string][]string
}

// DefaultLifecycleConfig is the lifecycle with every default (email off).
func DefaultLifecycleConfig() LifecycleConfig {
	return LifecycleConfig{
		FirstContactSLA: DefaultFirstContactSLA, ReminderAt: DefaultReminderAt, EscalationStep: DefaultEscalationStep,
		SweepInterval: DefaultSweepInterval, SweepBatch: DefaultSweepBatch, MailFrom: "Treue <cases@treue.invalid>",
	}
}

func (l LifecycleConfig) withDefaults() LifecycleConfig {
	d := DefaultLifecycleConfig()
	if l.FirstContactSLA == 0 {
		l.FirstContactSLA = d.FirstContactSLA
	}
	if l.EscalationStep == 0 {
		l.EscalationStep = d.EscalationStep
	}
	if l.SweepInterval == 0 {
		l.SweepInterval = d.SweepInterval
	}
	if l.SweepBatch == 0 {
		l.SweepBatch = d.SweepBatch
	}
	if l.MailFrom == "" {
		l.MailFrom = d.MailFrom
	}
	return l
}

func loadLifecycle(env *config.Env) (LifecycleConfig, error) {
	d := DefaultLifecycleConfig()
	l := LifecycleConfig{
		FirstContactSLA: env.Duration("FEEDBACK_FIRST_CONTACT_SLA", d.FirstContactSLA),
		EscalationStep:  env.Duration("FEEDBACK_ESCALATION_STEP", d.EscalationStep),
		SweepInterval:   env.Duration("FEEDBACK_SLA_SWEEP_INTERVAL", d.SweepInterval),
		SweepBatch:      env.Int("FEEDBACK_SLA_SWEEP_BATCH", d.SweepBatch),
		SMTPAddr:        env.String("FEEDBACK_SMTP_ADDR", ""),
		SMTPUsername:    env.String("FEEDBACK_SMTP_USERNAME", ""),
		SMTPPassword:    env.String("FEEDBACK_SMTP_PASSWORD", ""),
		SMTPTLS:         env.String("FEEDBACK_SMTP_TLS", ""),
		MailFrom:        env.String("FEEDBACK_MAIL_FROM", d.MailFrom),
	}
	var errs []error
	at, err := strconv.ParseFloat(env.String("FEEDBACK_SLA_REMINDER_AT", strconv.FormatFloat(d.ReminderAt, 'f', -1, 64)), 64)
	if err != nil {
		errs = append(errs, fmt.Errorf("FEEDBACK_SLA_REMINDER_AT: %w", err))
	}
	l.ReminderAt = at
	if l.AgentTeams, err = ParseAgentTeams(env.String("FEEDBACK_AGENT_TEAMS", "")); err != nil {
		errs = append(errs, fmt.Errorf("FEEDBACK_AGENT_TEAMS: %w", err))
	}
	return l, errors.Join(errs...)
}

// ParseAgentTeams reads "name=team|team;name=team".
func ParseAgentTeams(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, teams, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want name=team|team", part)
		}
		for _, t := range strings.Split(teams, "|") {
			if t = strings.TrimSpace(t); t != "" {
				out[name] = append(out[name], t)
			}
		}
	}
	return out, nil
}

func (l LifecycleConfig) validate() error {
	l = l.withDefaults()
	var errs []error
	if l.FirstContactSLA < 0 || l.EscalationStep <= 0 || l.SweepInterval <= 0 || l.SweepBatch < 1 {
		errs = append(errs, errors.New("FEEDBACK_FIRST_CONTACT_SLA must not be negative; FEEDBACK_ESCALATION_STEP, FEEDBACK_SLA_SWEEP_INTERVAL and FEEDBACK_SLA_SWEEP_BATCH must be positive"))
	}
	if l.ReminderAt < 0 || l.ReminderAt >= 1 {
		errs = append(errs, fmt.Errorf("FEEDBACK_SLA_REMINDER_AT=%v: want 0 (off) or a share in (0, 1)", l.ReminderAt))
	}
	if l.SMTPAddr != "" {
		if _, err := l.mailer(); err != nil {
			errs = append(errs, fmt.Errorf("FEEDBACK_SMTP_*: %w", err))
		}
	}
	return errors.Join(errs...)
}

// smtpTLS is the TLS mode in effect.
func (l LifecycleConfig) smtpTLS() string {
	if l.SMTPTLS != "" {
		return l.SMTPTLS
	}
	if host, _, err := net.SplitHostPort(l.SMTPAddr); err == nil {
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return mail.TLSNone
		}
	}
	return mail.TLSStartTLS
}

func (l LifecycleConfig) mailer() (*mail.Sender, error) {
	return mail.New(mail.Config{Addr: l.SMTPAddr, Username: l.SMTPUsername, Password: l.SMTPPassword, TLS: l.smtpTLS(), From: l.MailFrom})
}

// LogValue masks the secrets.
func (l LifecycleConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Duration("first_contact_sla", l.FirstContactSLA), slog.Float64("reminder_at", l.ReminderAt),
		slog.Duration("escalation_step", l.EscalationStep), slog.Duration("sweep_interval", l.SweepInterval),
		slog.String("smtp_addr", l.SMTPAddr), slog.String("smtp_tls", l.smtpTLS()),
		slog.String("smtp_username", l.SMTPUsername), slog.String("smtp_password", config.Mask(l.SMTPPassword)),
		slog.String("mail_from", l.MailFrom), slog.Int("agent_keys_confined", len(l.AgentTeams)),
	)
}

// lifecycleDeps returns what the application's lifecycle needs. org and assigner may be
// nil (teams 24x7 without staff, cases unassigned).
func lifecycleDeps(l LifecycleConfig, org app.Organisation, assigner app.CaseAssigner) (app.LifecycleDeps, error) {
	l = l.withDefaults()
	if err := l.validate(); err != nil {
		return app.LifecycleDeps{}, err
	}
	d := app.LifecycleDeps{
		Org: org, Assigner: assigner, DefaultFirstContact: l.FirstContactSLA,
		Sweep: domain.SweepPolicy{ReminderAt: l.ReminderAt, Step: l.EscalationStep},
	}
	if l.SMTPAddr != "" {
		m, err := l.mailer()
		if err != nil {
			return app.LifecycleDeps{}, err
		}
		d.Notifier = m
	}
	return d, nil
}

// wireLife adds the reminder and escalation sweep and confines service agents.
func wireLife(rt *svc.Runtime, l LifecycleConfig, application *app.Application, api *grpcapi.Server) {
	l = l.withDefaults()
	api.ConfineAgents(l.AgentTeams)
	rt.Sweep(svc.Sweep{What: "case reminders and escalations", Interval: l.SweepInterval, Batch: l.SweepBatch,
		Pass: application.Commands.SweepCases.Handle})
}
