// Package service wires the ledger: configuration, the runtime (Postgres, NATS, gRPC),
// its consumers, its gRPC service and the hold expirer.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/svc"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/adapters/events"
	"github.com/treue/treue/services/ledger/internal/adapters/grpcport"
	"github.com/treue/treue/services/ledger/internal/adapters/postgres"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/migrations"
)

// Name is the service's name; Schema its Postgres schema.
const (
	Name   = "ledger"
	Schema = "ledger"
)

// Durable consumer names. They are permanent: renaming one re-consumes its stream.
const (
	ConsumerPOS     = "ledger-pos"
	ConsumerSurvey  = "ledger-survey"
	ConsumerRewards = "ledger-rewards"
)

// Config is the ledger's configuration.
type Config struct {
	Base svc.Base
	// PointsPerUnit is what one currency unit (100 minor units) of a purchase earns, an
	// exact decimal such as 1 or 1.5 (LEDGER_POINTS_PER_UNIT, default 1). Points are
	// floor(total_minor * rate / 100).
	PointsPerUnit domain.Rate
	// SurveyBonusPoints is credited once per survey response (LEDGER_SURVEY_BONUS_POINTS,
	// default 50; 0 turns it off).
	SurveyBonusPoints int64
	// HoldTTL is how long a hold lives uncaptured when PlaceHold names no TTL
	// (LEDGER_HOLD_TTL, default 15m).
	HoldTTL time.Duration
	// HoldExpiryInterval is how often the expirer looks for holds past their expiry
	// (LEDGER_HOLD_EXPIRY_INTERVAL, default 5s).
	HoldExpiryInterval time.Duration
	// ReturnWaitDeliveries is how many deliveries a return whose purchase is unknown
	// waits (with the consumer's back-off) before it is booked from its own amount
	// (LEDGER_RETURN_WAIT_DELIVERIES, default 3).
	ReturnWaitDeliveries int
	// ConsumerHooks tune the consumers for tests; the zero value (production) keeps the
	// bus's defaults. Not read from the environment.
	ConsumerHooks ConsumerHooks
}

// ConsumerHooks override consumer settings in tests: shorter waits, injected crashes.
type ConsumerHooks struct {
	// AckWait, Backoff and MaxDeliver replace the bus's defaults when set.
	AckWait    time.Duration
	Backoff    []time.Duration
	MaxDeliver int
	// BeforeAck, when it returns an error, makes the named consumer stop after its
	// commit without acking, as a crashed process would (bus.ConsumerConfig.BeforeAck).
	BeforeAck func(consumer string, msgs []*bus.Message) error
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	env := &config.Env{}
	cfg := Config{
		Base:                 svc.LoadBase(env, "LEDGER", "127.0.0.1:7001", ""),
		SurveyBonusPoints:    env.Int64("LEDGER_SURVEY_BONUS_POINTS", 50),
		HoldTTL:              env.Duration("LEDGER_HOLD_TTL", 15*time.Minute),
		HoldExpiryInterval:   env.Duration("LEDGER_HOLD_EXPIRY_INTERVAL", 5*time.Second),
		ReturnWaitDeliveries: env.Int("LEDGER_RETURN_WAIT_DELIVERIES", 3),
	}
	rate, err := domain.ParseRate(env.String("LEDGER_POINTS_PER_UNIT", "1"))
	if err != nil {
		err = fmt.Errorf("LEDGER_POINTS_PER_UNIT: %w", err)
	}
	cfg.PointsPerUnit = rate
	if cfg.SurveyBonusPoints < 0 {
		err = errors.Join(err, errors.New("LEDGER_SURVEY_BONUS_POINTS must not be negative"))
	}
	if err := errors.Join(env.Err(), err); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// LogValue logs the configuration with its secrets masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("base", c.Base),
		slog.String("points_per_unit", c.PointsPerUnit.String()),
		slog.Int64("survey_bonus_points", c.SurveyBonusPoints),
		slog.Duration("hold_ttl", c.HoldTTL),
		slog.Duration("hold_expiry_interval", c.HoldExpiryInterval),
		slog.Int("return_wait_deliveries", c.ReturnWaitDeliveries),
	)
}

func (c *Config) withDefaults() {
	if c.PointsPerUnit.IsZero() {
		c.PointsPerUnit = domain.MustRate(1, 1)
	}
	if c.HoldTTL <= 0 {
		c.HoldTTL = 15 * time.Minute
	}
	if c.HoldExpiryInterval <= 0 {
		c.HoldExpiryInterval = 5 * time.Second
	}
	if c.ReturnWaitDeliveries <= 0 {
		c.ReturnWaitDeliveries = 3
	}
}

// Service is a wired ledger, ready to Run.
type Service struct {
	rt  *svc.Runtime
	app *app.Application
	cfg Config
	log *slog.Logger
}

// New opens the runtime (connects, migrates, creates streams) and wires the ledger.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	cfg.withDefaults()
	rt, err := svc.Open(ctx, cfg.Base, svc.Options{
		Name:       Name,
		Schema:     Schema,
		Migrations: migrations.FS,
		// POS and LEDGER are the ledger's; SURVEY and REWARDS are consumed here, so they
		// must exist before the consumers start.
		Streams: []bus.StreamSpec{bus.StreamPOS, bus.StreamLedger, bus.StreamSurvey, bus.StreamRewards},
	}, log)
	if err != nil {
		return nil, err
	}
	s, err := wire(rt, cfg, log)
	if err != nil {
		rt.Close()
		return nil, err
	}
	return s, nil
}

func wire(rt *svc.Runtime, cfg Config, log *slog.Logger) (*Service, error) {
	application, err := app.New(postgres.NewStore(rt.Pool), app.Config{
		PointsPerUnit:        cfg.PointsPerUnit,
		SurveyBonusPoints:    cfg.SurveyBonusPoints,
		HoldTTL:              cfg.HoldTTL,
		ReturnWaitDeliveries: cfg.ReturnWaitDeliveries,
	}, newID, time.Now, log)
	if err != nil {
		return nil, err
	}
	handlers, err := events.New(application, log)
	if err != nil {
		return nil, err
	}
	consumers := []bus.ConsumerConfig{
		// The whole POS stream, unfiltered: a consumer with several subject filters costs
		// the server noticeably more per message, and the ledger wants nearly all of it.
		// One batch at a time: a batch locks the balance rows of its members, so a second
		// concurrent batch would mostly wait for them (measured: no gain).
		{Name: ConsumerPOS, Stream: bus.StreamPOS, Handler: handlers.POS},
		{Name: ConsumerSurvey, Stream: bus.StreamSurvey, Handler: handlers.Survey,
			Subjects: []string{events.SubjectResponseSubmitted}},
		{Name: ConsumerRewards, Stream: bus.StreamRewards, Handler: handlers.Rewards,
			Subjects: []string{events.SubjectRedemptionCompleted, events.SubjectRedemptionCancelled}},
	}
	for _, c := range consumers {
		if err := rt.Consume(cfg.ConsumerHooks.apply(c)); err != nil {
			return nil, fmt.Errorf("consumer %s: %w", c.Name, err)
		}
	}
	ledgerv1.RegisterLedgerServiceServer(rt.GRPC, grpcport.New(application))
	s := &Service{rt: rt, app: application, cfg: cfg, log: log}
	rt.Background(s.expireHolds)
	return s, nil
}

func (h ConsumerHooks) apply(c bus.ConsumerConfig) bus.ConsumerConfig {
	if h.AckWait > 0 {
		c.AckWait = h.AckWait
	}
	if len(h.Backoff) > 0 {
		c.Backoff = h.Backoff
	}
	if h.MaxDeliver > 0 {
		c.MaxDeliver = h.MaxDeliver
	}
	if h.BeforeAck != nil {
		name, hook := c.Name, h.BeforeAck
		c.BeforeAck = func(msgs []*bus.Message) error { return hook(name, msgs) }
	}
	return c
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// GRPCAddr is where the gRPC server listens.
func (s *Service) GRPCAddr() string { return s.rt.GRPCAddr() }

// HTTPAddr is "": the ledger serves no HTTP.
func (s *Service) HTTPAddr() string { return s.rt.HTTPAddr() }

// Run serves until ctx ends or a part fails, then shuts down in order.
func (s *Service) Run(ctx context.Context) error { return s.rt.Run(ctx) }

// expireHolds voids holds past their expiry every HoldExpiryInterval until ctx ends.
func (s *Service) expireHolds(ctx context.Context) {
	const batch = 200
	t := time.NewTicker(s.cfg.HoldExpiryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := s.app.ExpireHolds(ctx, batch)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("hold expiry failed; will retry", "err", err)
				}
				break
			}
			if n > 0 {
				s.log.Info("holds expired", "count", n)
				s.rt.Relay.Notify()
			}
			if n < batch {
				break
			}
		}
	}
}
