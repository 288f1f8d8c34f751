// Package service wires the feedback (feedback-routing) service: it turns survey
// responses into follow-up cases by data-driven routing rules, anonymises erased
// members' cases, and serves treue.feedback.v1.FeedbackService and its part of
// treue.privacy.v1.PrivacyService.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/privacy"
	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/svc"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"

	"github.com/treue/treue/services/feedback/internal/adapters/postgres"
	"github.com/treue/treue/services/feedback/internal/adapters/routing"
	"github.com/treue/treue/services/feedback/internal/adapters/topics"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/convert"
	"github.com/treue/treue/services/feedback/internal/domain"
	"github.com/treue/treue/services/feedback/internal/ports/events"
	"github.com/treue/treue/services/feedback/internal/ports/grpcapi"
	"github.com/treue/treue/services/feedback/internal/ports/metrics"
	"github.com/treue/treue/services/feedback/migrations"
)

// Name is the service's name; Schema its Postgres schema.
const (
	Name   = "feedback"
	Schema = "feedback"
)

// Config is the feedback service's configuration.
type Config struct {
	Base svc.Base
	// ConsumerBatchSize is the most events applied in one transaction
	// (FEEDBACK_CONSUMER_BATCH_SIZE, default 500); 0 keeps the bus's default.
	ConsumerBatchSize int
	// ConsumerMaxDeliver is how many deliveries a failing event gets before it goes to
	// the dead letters (FEEDBACK_CONSUMER_MAX_DELIVER, default 5); 0 keeps the bus's
	// default. Tests override it, for every consumer, with Base.Hooks.
	ConsumerMaxDeliver int
	// Webhooks: outbound webhooks' delivery (FEEDBACK_WEBHOOK_*).
	Webhooks WebhookConfig
	// Now is the clock (default time.Now); tests move time with it (SLA clocks, sweeps).
	Now func() time.Time
	// Lifecycle is the case lifecycle: SLA defaults, reminders, escalation, staff email.
	Lifecycle LifecycleConfig
	// GoodwillLimits are the most goodwill points each role may grant when resolving a
	// case (FEEDBACK_GOODWILL_LIMITS, "role:points,...", default
	// "service_agent:500,admin:5000"); a role not named may grant none.
	GoodwillLimits domain.GoodwillLimits
	// GoodwillRewards: who may grant a coupon reward as goodwill, the rewards service
	// that issues it and the worker that emails its code (FEEDBACK_GOODWILL_REWARD_*,
	// FEEDBACK_REWARDS_ADDR, FEEDBACK_REWARDS_API_KEY).
	GoodwillRewards GoodwillRewardConfig
	// Staff is the sign-in that guards the agent's inbox on FEEDBACK_HTTP_ADDR
	// (AUTH_DATABASE_URL, STAFF_*); a zero value takes the defaults and the service's
	// database.
	Staff staff.Config
}

// LogValue masks secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("base", c.Base),
		slog.Int("consumer_batch_size", c.ConsumerBatchSize),
		slog.Int("consumer_max_deliver", c.ConsumerMaxDeliver),
		slog.Any("webhooks", c.Webhooks),
		slog.Any("lifecycle", c.Lifecycle),
		slog.Any("goodwill_limits", c.GoodwillLimits),
		slog.Any("goodwill_rewards", c.GoodwillRewards),
		slog.Any("staff", c.Staff),
	)
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	env := &config.Env{}
	cfg := Config{
		Base:               svc.LoadBase(env, "FEEDBACK", "127.0.0.1:7003", "127.0.0.1:8083"),
		ConsumerBatchSize:  env.Int("FEEDBACK_CONSUMER_BATCH_SIZE", 500),
		ConsumerMaxDeliver: env.Int("FEEDBACK_CONSUMER_MAX_DELIVER", 5),
		Webhooks:           loadWebhooks(env),
		GoodwillRewards:    loadGoodwillRewards(env),
	}
	limits, err := domain.ParseGoodwillLimits(env.String("FEEDBACK_GOODWILL_LIMITS", defaultGoodwillLimits))
	if err != nil {
		return cfg, errors.Join(env.Err(), fmt.Errorf("FEEDBACK_GOODWILL_LIMITS: %w", err))
	}
	cfg.GoodwillLimits = limits
	cfg.Staff = staff.LoadConfig(env)
	if err := cfg.Staff.WithDefaults().Validate(); err != nil {
		return cfg, errors.Join(env.Err(), err)
	}
	var lerr error
	cfg.Lifecycle, lerr = loadLifecycle(env)
	return cfg, errors.Join(env.Err(), lerr)
}

// defaultGoodwillLimits are FEEDBACK_GOODWILL_LIMITS unless set.
const defaultGoodwillLimits = "service_agent:500,admin:5000"

// Service is a feedback service ready to Run.
type Service struct{ svc.Service }

// New opens the service's resources (database, migrations, streams, listeners) and wires
// its consumers and gRPC API.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	s, err := svc.Wire(ctx, cfg.Base, svc.Options{
		Name:       Name,
		Schema:     Schema,
		Migrations: migrations.FS,
		Produces:   convert.Produces,
	}, log, func(rt *svc.Runtime) error { return wire(ctx, rt, cfg, log) })
	if err != nil {
		return nil, err
	}
	return &Service{s}, nil
}

func wire(ctx context.Context, rt *svc.Runtime, cfg Config, log *slog.Logger) error {
	engine, err := routing.NewEngine(log)
	if err != nil {
		return err
	}
	store := postgres.NewStore(rt.DB, rt.Outbox)
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	life, err := lifecycleDeps(cfg.Lifecycle, app.Assigner{})
	if err != nil {
		return err
	}
	rewards, err := rewardsClient(rt, cfg, log)
	if err != nil {
		return err
	}
	application, err := app.New(app.Deps{
		Store:     store,
		Lifecycle: life,
		Rules:     engine,
		Clock:     now,
		NewID:     func() string { return uuid.Must(uuid.NewV7()).String() },
		Log:       log,

		GoodwillLimits:      cfg.GoodwillLimits,
		GoodwillRewardRoles: cfg.GoodwillRewards.withDefaults().Roles,
		Rewards:             rewards,
		Stemmer:             topics.Snowball{},
	})
	if err != nil {
		return err
	}
	consumers := events.Consumers(application)
	for i := range consumers {
		consumers[i].BatchSize, consumers[i].MaxDeliver = cfg.ConsumerBatchSize, cfg.ConsumerMaxDeliver
	}
	if err := rt.Consume(consumers...); err != nil {
		return err
	}
	api := grpcapi.NewServer(application)
	feedbackv1.RegisterFeedbackServiceServer(rt.GRPC, api)
	wireLife(rt, cfg.Lifecycle, application, api)
	feedbackv1.RegisterRoutingServiceServer(rt.GRPC, grpcapi.NewRoutingServer(application))
	wireOrg(rt, application)
	wireTopics(rt, application)
	if err := wireHooks(rt, cfg, store, application); err != nil {
		return err
	}
	if err := wireGoodwillRewards(rt, cfg, store, rewards, now); err != nil {
		return err
	}
	// The cases overdue as a gauge, counted at each collection while the service runs.
	rt.Background(func(ctx context.Context) {
		reg, err := metrics.ObserveOverdue(application.Queries.CountOverdue.Handle)
		if err != nil {
			log.Error("overdue cases gauge", "err", err)
			return
		}
		<-ctx.Done()
		_ = reg.Unregister()
	})
	privacyv1.RegisterPrivacyServiceServer(rt.GRPC, privacy.NewServer(Name, application.Queries.ExportMember.Handle, convert.Export))
	return wireInbox(ctx, rt, cfg, application, now, log)
}
