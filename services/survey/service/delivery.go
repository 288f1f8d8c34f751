package service

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"
	_ "time/tzdata" // members' time zones, whatever the host has installed

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/services/survey/internal/adapters/mail"
	"github.com/treue/treue/services/survey/internal/adapters/webhook"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
	"github.com/treue/treue/services/survey/internal/ports/metrics"
)

// Defaults of delivery.
const (
	DefaultQuietHours       = "21:00-08:00"
	DefaultTimeZone         = "UTC"
	DefaultMaxAttempts      = 5
	DefaultDispatchInterval = time.Second
	DefaultBackoff          = time.Minute
	DefaultBackoffMax       = 6 * time.Hour
	DefaultDeliveryLease    = 2 * time.Minute
	DefaultDispatchBatch    = 100
	DefaultSendParallel     = 8
)

// DeliveryConfig is how invitations reach members.
type DeliveryConfig struct {
	// SMTPAddr is the SMTP server (host:port); empty: no email (SURVEY_SMTP_ADDR).
	SMTPAddr     string
	SMTPUsername string // SURVEY_SMTP_USERNAME; empty: no authentication
	SMTPPassword string // SURVEY_SMTP_PASSWORD
	// SMTPTLS is none, starttls or tls (SURVEY_SMTP_TLS); empty: starttls, except none
	// for a loopback server.
	SMTPTLS string
	// MailFrom is the From of survey emails (SURVEY_MAIL_FROM).
	MailFrom string
	// WebhookURL receives invitations for SMS or messaging providers; empty: none
	// (SURVEY_WEBHOOK_URL). WebhookSecret signs the calls (SURVEY_WEBHOOK_SECRET).
	WebhookURL    string
	WebhookSecret string
	// ReminderAfter: one reminder this long after sending if unanswered; 0: none
	// (SURVEY_REMINDER_AFTER).
	ReminderAfter time.Duration
	// MaxAttempts per invitation before it fails (SURVEY_DELIVERY_MAX_ATTEMPTS).
	MaxAttempts int
	// QuietHours in the member's time zone, "HH:MM-HH:MM" or "off" (SURVEY_QUIET_HOURS).
	QuietHours string
	// DefaultTimeZone for members without one (SURVEY_DEFAULT_TIME_ZONE).
	DefaultTimeZone string
	// DispatchInterval: how often due invitations are looked for (SURVEY_DISPATCH_INTERVAL).
	DispatchInterval time.Duration
	// Backoff after the first failed attempt, doubled after each (SURVEY_DELIVERY_BACKOFF),
	// at most BackoffMax (SURVEY_DELIVERY_BACKOFF_MAX).
	Backoff    time.Duration
	BackoffMax time.Duration
	// Lease: a claimed attempt whose outcome is not recorded by then (a crash) is made
	// again (SURVEY_DELIVERY_LEASE). Longer than a send can take.
	Lease time.Duration
	// Batch is how many due invitations one pass claims; Parallel how many are sent at
	// once (SURVEY_DISPATCH_BATCH, SURVEY_SEND_PARALLEL).
	Batch    int
	Parallel int
}

// DefaultDeliveryConfig is delivery with every default (email and webhook off).
func DefaultDeliveryConfig() DeliveryConfig {
	return DeliveryConfig{
		MailFrom: "Treue <surveys@treue.invalid>", MaxAttempts: DefaultMaxAttempts,
		QuietHours: DefaultQuietHours, DefaultTimeZone: DefaultTimeZone, DispatchInterval: DefaultDispatchInterval,
		Backoff: DefaultBackoff, BackoffMax: DefaultBackoffMax, Lease: DefaultDeliveryLease,
		Batch: DefaultDispatchBatch, Parallel: DefaultSendParallel,
	}
}

// withDefaults fills the settings left zero with their defaults.
func (d DeliveryConfig) withDefaults() DeliveryConfig {
	def := DefaultDeliveryConfig()
	if d.MailFrom == "" {
		d.MailFrom = def.MailFrom
	}
	if d.MaxAttempts == 0 {
		d.MaxAttempts = def.MaxAttempts
	}
	if d.QuietHours == "" {
		d.QuietHours = def.QuietHours
	}
	if d.DefaultTimeZone == "" {
		d.DefaultTimeZone = def.DefaultTimeZone
	}
	if d.DispatchInterval == 0 {
		d.DispatchInterval = def.DispatchInterval
	}
	if d.Backoff == 0 {
		d.Backoff = def.Backoff
	}
	if d.BackoffMax == 0 {
		d.BackoffMax = max(def.BackoffMax, d.Backoff)
	}
	if d.Lease == 0 {
		d.Lease = def.Lease
	}
	if d.Batch == 0 {
		d.Batch = def.Batch
	}
	if d.Parallel == 0 {
		d.Parallel = def.Parallel
	}
	return d
}

func loadDelivery(env *config.Env) DeliveryConfig {
	d := DefaultDeliveryConfig()
	return DeliveryConfig{
		SMTPAddr:         env.String("SURVEY_SMTP_ADDR", ""),
		SMTPUsername:     env.String("SURVEY_SMTP_USERNAME", ""),
		SMTPPassword:     env.String("SURVEY_SMTP_PASSWORD", ""),
		SMTPTLS:          env.String("SURVEY_SMTP_TLS", ""),
		MailFrom:         env.String("SURVEY_MAIL_FROM", d.MailFrom),
		WebhookURL:       env.String("SURVEY_WEBHOOK_URL", ""),
		WebhookSecret:    env.String("SURVEY_WEBHOOK_SECRET", ""),
		ReminderAfter:    env.Duration("SURVEY_REMINDER_AFTER", 0),
		MaxAttempts:      env.Int("SURVEY_DELIVERY_MAX_ATTEMPTS", d.MaxAttempts),
		QuietHours:       env.String("SURVEY_QUIET_HOURS", d.QuietHours),
		DefaultTimeZone:  env.String("SURVEY_DEFAULT_TIME_ZONE", d.DefaultTimeZone),
		DispatchInterval: env.Duration("SURVEY_DISPATCH_INTERVAL", d.DispatchInterval),
		Backoff:          env.Duration("SURVEY_DELIVERY_BACKOFF", d.Backoff),
		BackoffMax:       env.Duration("SURVEY_DELIVERY_BACKOFF_MAX", d.BackoffMax),
		Lease:            env.Duration("SURVEY_DELIVERY_LEASE", d.Lease),
		Batch:            env.Int("SURVEY_DISPATCH_BATCH", d.Batch),
		Parallel:         env.Int("SURVEY_SEND_PARALLEL", d.Parallel),
	}
}

// smtpTLS is the TLS mode in effect.
func (d DeliveryConfig) smtpTLS() string {
	if d.SMTPTLS != "" {
		return d.SMTPTLS
	}
	if host, _, err := net.SplitHostPort(d.SMTPAddr); err == nil {
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return mail.TLSNone
		}
	}
	return mail.TLSStartTLS
}

func (d DeliveryConfig) validate() error {
	d = d.withDefaults()
	var errs []error
	if _, err := domain.ParseQuietHours(d.QuietHours); err != nil {
		errs = append(errs, fmt.Errorf("SURVEY_QUIET_HOURS: %w", err))
	}
	if _, err := time.LoadLocation(d.DefaultTimeZone); err != nil {
		errs = append(errs, fmt.Errorf("SURVEY_DEFAULT_TIME_ZONE=%q: %w", d.DefaultTimeZone, err))
	}
	if d.SMTPAddr != "" {
		if _, err := d.mailer(); err != nil {
			errs = append(errs, fmt.Errorf("SURVEY_SMTP_*: %w", err))
		}
	}
	if d.WebhookURL != "" {
		if u, err := url.Parse(d.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("SURVEY_WEBHOOK_URL=%q is not an http(s) URL", d.WebhookURL))
		}
		if len(d.WebhookSecret) < 16 {
			errs = append(errs, errors.New("SURVEY_WEBHOOK_SECRET must be at least 16 bytes when SURVEY_WEBHOOK_URL is set"))
		}
	}
	if d.ReminderAfter < 0 {
		errs = append(errs, errors.New("SURVEY_REMINDER_AFTER must not be negative"))
	}
	if d.MaxAttempts < 1 {
		errs = append(errs, errors.New("SURVEY_DELIVERY_MAX_ATTEMPTS must be at least 1"))
	}
	if d.DispatchInterval <= 0 || d.Backoff <= 0 || d.BackoffMax < d.Backoff || d.Lease <= 0 {
		errs = append(errs, errors.New("SURVEY_DISPATCH_INTERVAL, SURVEY_DELIVERY_BACKOFF and SURVEY_DELIVERY_LEASE must be positive, SURVEY_DELIVERY_BACKOFF_MAX at least the back-off"))
	}
	if d.Batch < 1 || d.Parallel < 1 {
		errs = append(errs, errors.New("SURVEY_DISPATCH_BATCH and SURVEY_SEND_PARALLEL must be at least 1"))
	}
	return errors.Join(errs...)
}

func (d DeliveryConfig) mailer() (*mail.Sender, error) {
	return mail.New(mail.Config{
		Addr: d.SMTPAddr, Username: d.SMTPUsername, Password: d.SMTPPassword, TLS: d.smtpTLS(), From: d.MailFrom,
	})
}

// LogValue masks the secrets.
func (d DeliveryConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("smtp_addr", d.SMTPAddr), slog.String("smtp_tls", d.smtpTLS()),
		slog.String("smtp_username", d.SMTPUsername), slog.String("smtp_password", config.Mask(d.SMTPPassword)),
		slog.String("mail_from", d.MailFrom), slog.String("webhook_url", d.WebhookURL),
		slog.String("webhook_secret", config.Mask(d.WebhookSecret)), slog.Duration("reminder_after", d.ReminderAfter),
		slog.Int("max_attempts", d.MaxAttempts), slog.String("quiet_hours", d.QuietHours),
		slog.String("default_time_zone", d.DefaultTimeZone),
	)
}

// wireDelivery adds the dispatcher, reminders and expiry as background sweeps and the
// unsubscribe and delivery-log use cases to the application.
func wireDelivery(rt *svc.Runtime, d DeliveryConfig, application *app.Application, store app.Store, links *app.Links, signer *domain.LinkSigner, publicURL string, now func() time.Time) error {
	d = d.withDefaults()
	quiet, err := domain.ParseQuietHours(d.QuietHours)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(d.DefaultTimeZone)
	if err != nil {
		return err
	}
	senders := map[domain.DeliveryChannel]app.Sender{}
	if d.SMTPAddr != "" {
		m, err := d.mailer()
		if err != nil {
			return err
		}
		senders[domain.ChannelEmail] = m
	}
	if d.WebhookURL != "" {
		senders[domain.ChannelWebhook] = webhook.New(d.WebhookURL, d.WebhookSecret)
	}
	unsubLinks := app.NewUnsubscribeLinks(domain.NewUnsubscribeSigner(signer), publicURL)
	dispatch := app.NewDispatchInvitations(store, links, unsubLinks, senders, app.DeliveryConfig{
		QuietHours: quiet, DefaultTimeZone: loc, MaxAttempts: d.MaxAttempts, BackoffBase: d.Backoff,
		BackoffMax: d.BackoffMax, Lease: d.Lease, ReminderAfter: d.ReminderAfter, Parallel: d.Parallel,
	}, now)
	dispatch.Observe(metrics.Delivery{})
	application.Commands.Delivery = app.Delivery{
		Dispatch:    dispatch,
		Reminders:   app.NewSendReminders(dispatch),
		Expire:      app.NewExpireInvitations(store, now),
		Unsubscribe: app.NewUnsubscribe(store, unsubLinks, now),
	}
	application.Queries.ListDeliveries = app.NewListDeliveries(store)
	rt.Sweep(svc.Sweep{What: "invitation dispatch", Interval: d.DispatchInterval, Batch: d.Batch, Pass: dispatch.Pass})
	rt.Sweep(svc.Sweep{What: "survey reminders", Interval: d.DispatchInterval, Batch: d.Batch, Pass: application.Commands.Delivery.Reminders.Pass})
	rt.Sweep(svc.Sweep{What: "invitation expiry", Interval: d.DispatchInterval, Batch: 500, Pass: application.Commands.Delivery.Expire.Pass})
	return nil
}
