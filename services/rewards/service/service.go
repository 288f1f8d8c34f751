// Package service wires the rewards service: the catalog, redemptions of points for
// coupons (holding the points in the ledger over gRPC), the tills' coupon checks, a
// member's data export and erasure (ledger.member.erased), and the background work:
// settling redemptions a crashed call left requested and wiping sealed coupon codes
// past their retry window.
// The dev runner and the end-to-end tests start it through this package.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/privacy"
	"github.com/treue/treue/pkg/svc"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/internal/adapters/codeseal"
	"github.com/treue/treue/services/rewards/internal/adapters/ledgerclient"
	"github.com/treue/treue/services/rewards/internal/adapters/postgres"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/convert"
	"github.com/treue/treue/services/rewards/internal/domain"
	"github.com/treue/treue/services/rewards/internal/ports/events"
	"github.com/treue/treue/services/rewards/internal/ports/grpcapi"
	"github.com/treue/treue/services/rewards/internal/ports/metrics"
	"github.com/treue/treue/services/rewards/migrations"
)

// maxHoldTTL is the longest hold the ledger accepts.
const maxHoldTTL = 7 * 24 * time.Hour

// maxCodeRetryWindow bounds how long a coupon code is kept, even sealed: the window is
// for a retry after a lost response, not a second way to read codes.
const maxCodeRetryWindow = 7 * 24 * time.Hour

// sweepBatch is how many redemptions a background pass handles per statement.
const sweepBatch = 100

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
	// would be issued for points that went back to the member.
	HoldTTL time.Duration
	// CouponAttemptsPerMinute is each terminal's budget of ValidateCoupon and
	// RedeemCoupon calls (REWARDS_COUPON_ATTEMPTS_PER_MINUTE).
	CouponAttemptsPerMinute int
	// CouponKeyAttemptsPerMinute and CouponStoreAttemptsPerMinute are the budgets of an
	// API key and of a store, over all their terminals
	// (REWARDS_COUPON_KEY_ATTEMPTS_PER_MINUTE, REWARDS_COUPON_STORE_ATTEMPTS_PER_MINUTE);
	// 0, the default, for none: every attempt would then write the key's and the
	// store's row, and a store's tills queue behind its row lock. Their failures lock
	// them either way.
	CouponKeyAttemptsPerMinute   int
	CouponStoreAttemptsPerMinute int
	// CouponMaxFailures unknown codes within CouponFailureWindow lock the key, store or
	// terminal that tried them for CouponLockout (REWARDS_COUPON_MAX_FAILURES,
	// REWARDS_COUPON_FAILURE_WINDOW, REWARDS_COUPON_LOCKOUT).
	CouponMaxFailures   int
	CouponFailureWindow time.Duration
	CouponLockout       time.Duration
	// CodeKey seals coupon codes for the retry window (REWARDS_CODE_KEY): 32 bytes as 64
	// hex digits or base64, the same for every replica. A secret: never logged. Empty:
	// a random key per process, with a warning (a retry reaching another process, or
	// this one after a restart, then gets the redemption without its code).
	CodeKey string
	// CodeRetryWindow is how long a retry with the same idempotency key gets the code
	// again (REWARDS_CODE_RETRY_WINDOW); then the sealed code is wiped.
	CodeRetryWindow time.Duration
	// SettleAfter is how long a redemption may stay requested before it is taken for
	// abandoned by a crashed call and settled (REWARDS_SETTLE_AFTER). Longer than a
	// Redeem call can take (4 × REWARDS_LEDGER_TIMEOUT + 10 s), so the settler rarely
	// races a live call (which would still end in one outcome).
	SettleAfter time.Duration
	// SweepInterval is how often abandoned redemptions are looked for and expired
	// sealed codes wiped (REWARDS_SWEEP_INTERVAL).
	SweepInterval time.Duration
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	env := &config.Env{}
	cfg := Config{
		Base:                         svc.LoadBase(env, "REWARDS", "127.0.0.1:7004", ""),
		LedgerAddr:                   env.String("REWARDS_LEDGER_ADDR", "127.0.0.1:7001"),
		ServiceAPIKey:                env.String("SERVICE_API_KEY", ""),
		LedgerTimeout:                env.Duration("REWARDS_LEDGER_TIMEOUT", 5*time.Second),
		HoldTTL:                      env.Duration("REWARDS_HOLD_TTL", 24*time.Hour),
		CouponAttemptsPerMinute:      env.Int("REWARDS_COUPON_ATTEMPTS_PER_MINUTE", 30),
		CouponKeyAttemptsPerMinute:   env.Int("REWARDS_COUPON_KEY_ATTEMPTS_PER_MINUTE", 0),
		CouponStoreAttemptsPerMinute: env.Int("REWARDS_COUPON_STORE_ATTEMPTS_PER_MINUTE", 0),
		CouponMaxFailures:            env.Int("REWARDS_COUPON_MAX_FAILURES", 20),
		CouponFailureWindow:          env.Duration("REWARDS_COUPON_FAILURE_WINDOW", 10*time.Minute),
		CouponLockout:                env.Duration("REWARDS_COUPON_LOCKOUT", 15*time.Minute),
		CodeKey:                      env.String("REWARDS_CODE_KEY", ""),
		CodeRetryWindow:              env.Duration("REWARDS_CODE_RETRY_WINDOW", 24*time.Hour),
		SettleAfter:                  env.Duration("REWARDS_SETTLE_AFTER", 2*time.Minute),
		SweepInterval:                env.Duration("REWARDS_SWEEP_INTERVAL", 15*time.Second),
	}
	if err := env.Err(); err != nil {
		return Config{}, err
	}
	return cfg, cfg.validate()
}

// withDefaults fills the settings a caller that builds Config by hand (a test, an
// embedding) left zero with LoadConfig's defaults.
func (c *Config) withDefaults() {
	if c.CodeRetryWindow == 0 {
		c.CodeRetryWindow = 24 * time.Hour
	}
	if c.SettleAfter == 0 {
		c.SettleAfter = 2 * time.Minute
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = 15 * time.Second
	}
	if c.CouponMaxFailures == 0 {
		c.CouponMaxFailures = 20
	}
	if c.CouponFailureWindow == 0 {
		c.CouponFailureWindow = 10 * time.Minute
	}
	if c.CouponLockout == 0 {
		c.CouponLockout = 15 * time.Minute
	}
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
	if c.CouponKeyAttemptsPerMinute < 0 || c.CouponStoreAttemptsPerMinute < 0 {
		errs = append(errs, errors.New("REWARDS_COUPON_KEY_ATTEMPTS_PER_MINUTE and REWARDS_COUPON_STORE_ATTEMPTS_PER_MINUTE must not be negative"))
	}
	if c.CouponMaxFailures <= 0 || c.CouponFailureWindow <= 0 || c.CouponLockout <= 0 {
		errs = append(errs, errors.New("REWARDS_COUPON_MAX_FAILURES, REWARDS_COUPON_FAILURE_WINDOW and REWARDS_COUPON_LOCKOUT must be positive"))
	}
	if c.CodeKey != "" {
		if _, err := codeseal.ParseKey(c.CodeKey); err != nil {
			errs = append(errs, fmt.Errorf("REWARDS_CODE_KEY: %w", err))
		}
	}
	if c.CodeRetryWindow <= 0 || c.CodeRetryWindow > maxCodeRetryWindow {
		errs = append(errs, fmt.Errorf("REWARDS_CODE_RETRY_WINDOW must be positive and at most %s", maxCodeRetryWindow))
	}
	if c.SettleAfter <= 0 {
		errs = append(errs, errors.New("REWARDS_SETTLE_AFTER must be positive"))
	}
	if c.SweepInterval <= 0 {
		errs = append(errs, errors.New("REWARDS_SWEEP_INTERVAL must be positive"))
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
		slog.Int("coupon_key_attempts_per_minute", c.CouponKeyAttemptsPerMinute),
		slog.Int("coupon_store_attempts_per_minute", c.CouponStoreAttemptsPerMinute),
		slog.Int("coupon_max_failures", c.CouponMaxFailures),
		slog.Duration("coupon_failure_window", c.CouponFailureWindow),
		slog.Duration("coupon_lockout", c.CouponLockout),
		slog.String("code_key", config.Mask(c.CodeKey)),
		slog.Duration("code_retry_window", c.CodeRetryWindow),
		slog.Duration("settle_after", c.SettleAfter),
		slog.Duration("sweep_interval", c.SweepInterval),
	)
}

// Service is a running rewards service.
type Service struct {
	svc.Service
	ledger *ledgerclient.Client
}

// New opens the database (migrating it), NATS (creating REWARDS, the stream of the events
// the service emits) and the gRPC server, and wires the use cases to them. Its one
// consumer takes the ledger's member erasures from LEDGER, a stream the runtime creates
// when the consumer starts if the ledger has not yet.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Service, err error) {
	cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.ServiceAPIKey == "" {
		log.Warn("SERVICE_API_KEY is empty: the ledger will refuse every redemption's hold")
	}
	key := codeseal.NewKey()
	if cfg.CodeKey == "" {
		log.Warn("REWARDS_CODE_KEY is not set: coupon codes are sealed under a random key, so a retry of a lost Redeem " +
			"answer gets the code only from this process until it ends; set it in production, the same for every replica")
	} else if key, err = codeseal.ParseKey(cfg.CodeKey); err != nil {
		return nil, fmt.Errorf("REWARDS_CODE_KEY: %w", err)
	}
	sealer, err := codeseal.New(key)
	if err != nil {
		return nil, err
	}
	ledger, err := ledgerclient.New(cfg.LedgerAddr, cfg.ServiceAPIKey, cfg.LedgerTimeout, cfg.Base.Tracing)
	if err != nil {
		return nil, err
	}
	s, err := svc.Wire(ctx, cfg.Base, svc.Options{
		Name:       Name,
		Schema:     Name,
		Migrations: migrations.FS,
		Produces:   convert.Produces,
	}, log, func(rt *svc.Runtime) error { return wire(rt, cfg, ledger, sealer, log) })
	if err != nil {
		_ = ledger.Close()
		return nil, err
	}
	return &Service{Service: s, ledger: ledger}, nil
}

func wire(rt *svc.Runtime, cfg Config, ledger *ledgerclient.Client, sealer *codeseal.Sealer, log *slog.Logger) error {
	policy := domain.AttemptPolicy{
		PerMinute: map[string]int{
			domain.ScopeTerminal: cfg.CouponAttemptsPerMinute,
			domain.ScopeKey:      cfg.CouponKeyAttemptsPerMinute,
			domain.ScopeStore:    cfg.CouponStoreAttemptsPerMinute,
		},
		MaxFailures: cfg.CouponMaxFailures, FailureWindow: cfg.CouponFailureWindow, Lockout: cfg.CouponLockout,
	}
	application, err := app.New(app.Deps{
		Store:  postgres.New(rt.DB, rt.Outbox, rt.Relay.Notify).WithAttemptPolicy(policy),
		Ledger: ledger,
		// In Postgres: every replica spends the same budgets.
		Limiter:         postgres.NewLimiter(rt.DB, policy),
		Sealer:          sealer,
		Log:             log,
		HoldTTL:         cfg.HoldTTL,
		FinishTimeout:   4*cfg.LedgerTimeout + 10*time.Second,
		CodeRetryWindow: cfg.CodeRetryWindow,
		SettleAfter:     cfg.SettleAfter,
	})
	if err != nil {
		return err
	}
	if err := rt.Consume(events.Consumers(application)...); err != nil {
		return err
	}
	rewardsv1.RegisterRewardsServiceServer(rt.GRPC, grpcapi.New(application))
	privacyv1.RegisterPrivacyServiceServer(rt.GRPC, privacy.NewServer(Name, application.Queries.ExportMember.Handle, convert.Export))
	// Redemptions a crashed call left requested are settled, and sealed codes past their
	// retry window wiped, every SweepInterval.
	rt.Sweep(svc.Sweep{What: "settling abandoned redemptions", Interval: cfg.SweepInterval, Batch: sweepBatch,
		Pass: func(ctx context.Context, batch int) (int, error) {
			out, err := application.Commands.SettleAbandoned.Handle(ctx, batch)
			for _, r := range out.Settled {
				metrics.Redemption(ctx, r)
			}
			return out.Claimed, err
		}})
	rt.Sweep(svc.Sweep{What: "wiping sealed coupon codes", Interval: cfg.SweepInterval, Batch: sweepBatch,
		Pass: func(ctx context.Context, batch int) (int, error) {
			n, err := application.Commands.ForgetCodes.Handle(ctx, batch)
			if n > 0 {
				log.Info("sealed coupon codes wiped after their retry window", "count", n)
			}
			return n, err
		}})
	return nil
}

// Run serves until ctx ends, then shuts down in order: the gRPC server lets calls under
// way finish (they may still call the ledger), the relay publishes what they wrote, and
// the ledger connection closes last.
func (s *Service) Run(ctx context.Context) error {
	err := s.Service.Run(ctx)
	if cerr := s.ledger.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}
