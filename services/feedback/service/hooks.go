package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/webhook"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	webhookadapter "github.com/treue/treue/services/feedback/internal/adapters/webhook"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
	"github.com/treue/treue/services/feedback/internal/ports/events"
	"github.com/treue/treue/services/feedback/internal/ports/grpcapi"
	"github.com/treue/treue/services/feedback/internal/ports/metrics"
)

// WebhookConfig is how webhooks are delivered.
type WebhookConfig struct {
	// MaxAttempts per delivery before it is FAILED (FEEDBACK_WEBHOOK_MAX_ATTEMPTS, 8).
	MaxAttempts int
	// Backoff after the first failed attempt, doubled after each
	// (FEEDBACK_WEBHOOK_BACKOFF, 30s), at most BackoffMax (FEEDBACK_WEBHOOK_BACKOFF_MAX, 6h).
	Backoff    time.Duration
	BackoffMax time.Duration
	// Interval: how often due deliveries are looked for (FEEDBACK_WEBHOOK_INTERVAL, 1s).
	Interval time.Duration
	// Batch due deliveries claimed per pass (FEEDBACK_WEBHOOK_BATCH, 100); Parallel calls
	// at once (FEEDBACK_WEBHOOK_PARALLEL, 8).
	Batch    int
	Parallel int
	// Timeout of one call (FEEDBACK_WEBHOOK_TIMEOUT, 10s); Lease: a claimed call whose
	// outcome is not recorded by then is made again (FEEDBACK_WEBHOOK_LEASE; default at
	// least 1m and a whole batch of calls that each take Timeout; longer than Timeout).
	Timeout time.Duration
	Lease   time.Duration
	// AllowLoopbackHTTP accepts http:// subscription URLs to loopback hosts, for
	// development (FEEDBACK_WEBHOOK_ALLOW_LOOPBACK_HTTP, false).
	AllowLoopbackHTTP bool
	// Clock is the time of the webhook use cases; nil: the service's (Config.Now).
	Clock func() time.Time
}

// DefaultWebhookConfig has every default.
func DefaultWebhookConfig() WebhookConfig {
	return WebhookConfig{
		MaxAttempts: 8, Backoff: 30 * time.Second, BackoffMax: 6 * time.Hour, Interval: time.Second,
		Batch: 100, Parallel: 8, Timeout: webhookadapter.Timeout, Lease: time.Minute,
	}
}

func (w WebhookConfig) withDefaults() WebhookConfig {
	d := DefaultWebhookConfig()
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&w.MaxAttempts, d.MaxAttempts)
	set(&w.Batch, d.Batch)
	set(&w.Parallel, d.Parallel)
	setD(&w.Backoff, d.Backoff)
	setD(&w.BackoffMax, max(d.BackoffMax, w.Backoff))
	setD(&w.Interval, d.Interval)
	setD(&w.Timeout, d.Timeout)
	// A pass waits for its whole batch, Parallel calls at a time: by default the lease
	// outlives a batch of calls that each take the whole timeout, so that no call is
	// made again while the first is still on its way.
	setD(&w.Lease, max(d.Lease, time.Duration((w.Batch+w.Parallel-1)/w.Parallel+1)*w.Timeout))
	if w.Clock == nil {
		w.Clock = time.Now
	}
	return w
}

func (w WebhookConfig) validate() error {
	w = w.withDefaults()
	if w.MaxAttempts < 1 || w.Batch < 1 || w.Parallel < 1 {
		return errors.New("FEEDBACK_WEBHOOK_MAX_ATTEMPTS, _BATCH and _PARALLEL must be at least 1")
	}
	if w.Backoff < 0 || w.BackoffMax < w.Backoff || w.Interval < 0 || w.Timeout < 0 || w.Lease <= w.Timeout {
		return errors.New("FEEDBACK_WEBHOOK_BACKOFF, _INTERVAL and _TIMEOUT must be positive, _BACKOFF_MAX at least the back-off, _LEASE longer than the timeout")
	}
	return nil
}

func loadWebhooks(env *config.Env) WebhookConfig {
	d := DefaultWebhookConfig()
	return WebhookConfig{
		MaxAttempts:       env.Int("FEEDBACK_WEBHOOK_MAX_ATTEMPTS", d.MaxAttempts),
		Backoff:           env.Duration("FEEDBACK_WEBHOOK_BACKOFF", d.Backoff),
		BackoffMax:        env.Duration("FEEDBACK_WEBHOOK_BACKOFF_MAX", d.BackoffMax),
		Interval:          env.Duration("FEEDBACK_WEBHOOK_INTERVAL", d.Interval),
		Batch:             env.Int("FEEDBACK_WEBHOOK_BATCH", d.Batch),
		Parallel:          env.Int("FEEDBACK_WEBHOOK_PARALLEL", d.Parallel),
		Timeout:           env.Duration("FEEDBACK_WEBHOOK_TIMEOUT", d.Timeout),
		Lease:             env.Duration("FEEDBACK_WEBHOOK_LEASE", 0), // 0: derived (withDefaults)
		AllowLoopbackHTTP: env.Bool("FEEDBACK_WEBHOOK_ALLOW_LOOPBACK_HTTP", false),
	}
}

// LogValue is the configuration as logged.
func (w WebhookConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("max_attempts", w.MaxAttempts), slog.Duration("backoff", w.Backoff),
		slog.Duration("backoff_max", w.BackoffMax), slog.Int("parallel", w.Parallel), slog.Duration("timeout", w.Timeout),
		slog.Bool("allow_loopback_http", w.AllowLoopbackHTTP))
}

// wireHooks adds the webhook and CRM use cases, the consumers that queue deliveries, the
// sweep that sends them and WebhookService.
func wireHooks(rt *svc.Runtime, cfg Config, store app.Store, application *app.Application) error {
	w := cfg.Webhooks
	if w.Clock == nil {
		w.Clock = cfg.Now
	}
	w = w.withDefaults()
	if err := w.validate(); err != nil {
		return err
	}
	application.Commands.Hooks, application.Queries.Hooks = app.NewHooks(store, application.Commands, app.HookDeps{
		Sender:    webhookadapter.New(w.Timeout, w.Clock),
		NewSecret: webhook.NewSecret,
		Config: app.HookConfig{
			MaxAttempts: w.MaxAttempts, Backoff: w.Backoff, BackoffMax: w.BackoffMax, Lease: w.Lease,
			Parallel: w.Parallel, AllowLoopbackHTTP: w.AllowLoopbackHTTP,
		},
		Clock: w.Clock,
		NewID: func() string { return uuid.Must(uuid.NewV7()).String() },
		Observe: func(ctx context.Context, s domain.DeliveryStatus) {
			metrics.WebhookAttempt(ctx, string(s))
		},
	})
	consumers := events.HookConsumers(application)
	for i := range consumers {
		consumers[i].BatchSize, consumers[i].MaxDeliver = cfg.ConsumerBatchSize, cfg.ConsumerMaxDeliver
	}
	if err := rt.Consume(consumers...); err != nil {
		return err
	}
	rt.Sweep(svc.Sweep{What: "webhook delivery", Interval: w.Interval, Batch: w.Batch, Pass: application.Commands.Hooks.SendWebhooks.Pass})
	feedbackv1.RegisterWebhookServiceServer(rt.GRPC, grpcapi.NewWebhookServer(application))
	return nil
}
