// Package service wires the rewards service: the catalog, redemptions of points for
// coupons (holding the points in the ledger over gRPC) and the tills' coupon checks.
// The dev runner and the end-to-end tests start it through this package.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/svc"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/internal/adapters/grpcport"
	"github.com/treue/treue/services/rewards/internal/adapters/ledgerclient"
	"github.com/treue/treue/services/rewards/internal/adapters/postgres"
	"github.com/treue/treue/services/rewards/internal/adapters/ratelimit"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/migrations"
)

// maxHoldTTL is the longest hold the ledger accepts.
const maxHoldTTL = 7 * 24 * time.Hour

// Name is the service's name and its Postgres schema.
const Name = "rewards"

// Config is the rewards service's configuration.
type Config struct {
	Base svc.Base
	// LedgerAddr is the ledger's gRPC address (REWARDS_LEDGER_ADDR).
	LedgerAddr string
	// ServiceAPIKey is this service's key, with role service, for the ledger
	// (SERVICE_API_KEY). A secret: never logged.
	ServiceAPIKey string
	// LedgerTimeout is the deadline of each call to the ledger (REWARDS_LEDGER_TIMEOUT).
	LedgerTimeout time.Duration
	// HoldTTL is how long the ledger keeps a redemption's hold uncaptured
	// (REWARDS_HOLD_TTL). The capture arrives as an event, normally within
	// milliseconds; the TTL must outlast any outage of NATS or the ledger, or a coupon
	// would be issued for points that went back to the member. It only matters for a
	// redemption that crashed half way and is never retried: its points stay held
	// that long.
	HoldTTL time.Duration
	// CouponAttemptsPerMinute is each terminal's budget of ValidateCoupon and
	// RedeemCoupon calls (REWARDS_COUPON_ATTEMPTS_PER_MINUTE).
	CouponAttemptsPerMinute int
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	env := &config.Env{}
	cfg := Config{
		Base:                    svc.LoadBase(env, "REWARDS", "127.0.0.1:7004", ""),
		LedgerAddr:              env.String("REWARDS_LEDGER_ADDR", "127.0.0.1:7001"),
		ServiceAPIKey:           env.String("SERVICE_API_KEY", ""),
		LedgerTimeout:           env.Duration("REWARDS_LEDGER_TIMEOUT", 5*time.Second),
		HoldTTL:                 env.Duration("REWARDS_HOLD_TTL", 24*time.Hour),
		CouponAttemptsPerMinute: env.Int("REWARDS_COUPON_ATTEMPTS_PER_MINUTE", 30),
	}
	if err := env.Err(); err != nil {
		return Config{}, err
	}
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	var errs []error
	if c.LedgerAddr == "" {
		errs = append(errs, errors.New("REWARDS_LEDGER_ADDR is empty"))
	}
	if c.LedgerTimeout <= 0 {
		errs = append(errs, errors.New("REWARDS_LEDGER_TIMEOUT must be positive"))
	}
	if c.HoldTTL <= 0 || c.HoldTTL > maxHoldTTL {
		errs = append(errs, fmt.Errorf("REWARDS_HOLD_TTL must be positive and at most %s", maxHoldTTL))
	}
	if c.CouponAttemptsPerMinute <= 0 {
		errs = append(errs, errors.New("REWARDS_COUPON_ATTEMPTS_PER_MINUTE must be positive"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return nil
}

// LogValue masks the secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("base", c.Base),
		slog.String("ledger_addr", c.LedgerAddr),
		slog.String("service_api_key", config.Mask(c.ServiceAPIKey)),
		slog.Duration("ledger_timeout", c.LedgerTimeout),
		slog.Duration("hold_ttl", c.HoldTTL),
		slog.Int("coupon_attempts_per_minute", c.CouponAttemptsPerMinute),
	)
}

// Service is a running rewards service.
type Service struct {
	rt     *svc.Runtime
	ledger *ledgerclient.Client
}

// New opens the database (migrating it), NATS (creating REWARDS, and LEDGER, whose
// events the rewards service is to consume) and the gRPC server.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Service, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.ServiceAPIKey == "" {
		log.Warn("SERVICE_API_KEY is empty: the ledger will refuse every redemption's hold")
	}
	rt, err := svc.Open(ctx, cfg.Base, svc.Options{
		Name:       Name,
		Schema:     Name,
		Migrations: migrations.FS,
		Streams:    []bus.StreamSpec{bus.StreamRewards, bus.StreamLedger},
	}, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			rt.Close()
		}
	}()
	ledger, err := ledgerclient.New(cfg.LedgerAddr, cfg.ServiceAPIKey, cfg.LedgerTimeout)
	if err != nil {
		return nil, err
	}
	application, err := app.New(
		postgres.New(rt.Pool, rt.Relay.Notify),
		ledger,
		// In memory: enough for one replica (see package ratelimit).
		ratelimit.New(cfg.CouponAttemptsPerMinute),
		app.Settings{HoldTTL: cfg.HoldTTL, FinishTimeout: 4*cfg.LedgerTimeout + 10*time.Second},
		log,
	)
	if err != nil {
		_ = ledger.Close()
		return nil, err
	}
	rewardsv1.RegisterRewardsServiceServer(rt.GRPC, grpcport.New(application))
	return &Service{rt: rt, ledger: ledger}, nil
}

// Run serves until ctx ends, then shuts down in order: the gRPC server lets calls under
// way finish (they may still call the ledger), the relay publishes what they wrote, and
// the ledger connection closes last.
func (s *Service) Run(ctx context.Context) error {
	err := s.rt.Run(ctx)
	if cerr := s.ledger.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// GRPCAddr is the address the gRPC server listens on.
func (s *Service) GRPCAddr() string { return s.rt.GRPCAddr() }

// HTTPAddr is "": the rewards service has no HTTP server.
func (s *Service) HTTPAddr() string { return s.rt.HTTPAddr() }
