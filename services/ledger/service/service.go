// Package service wires the ledger: configuration, the runtime (Postgres, NATS, gRPC),
// its consumers, its gRPC service and the hold expirer.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/privacy"
	"github.com/treue/treue/pkg/svc"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	"github.com/treue/treue/services/ledger/internal/adapters/postgres"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/convert"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/ports/events"
	"github.com/treue/treue/services/ledger/internal/ports/grpcapi"
	"github.com/treue/treue/services/ledger/internal/ports/metrics"
	"github.com/treue/treue/services/ledger/migrations"
)

// Name is the service's name; Schema its Postgres schema.
const (
	Name   = "ledger"
	Schema = "ledger"
)

// Durable consumer names. They are permanent: renaming one re-consumes its stream.
const (
	ConsumerPOS     = events.ConsumerPOS
	ConsumerSurvey  = events.ConsumerSurvey
	ConsumerRewards = events.ConsumerRewards
	// ConsumerUnsubscribe takes survey.member.unsubscribed.
	ConsumerUnsubscribe = events.ConsumerUnsubscribe
	// ConsumerGoodwill takes feedback.goodwill.granted.
	ConsumerGoodwill = events.ConsumerGoodwill
)

// defaultMaxPurchaseMinor is 100,000.00 in a currency with cents: far above a shop's
// receipt, far below an amount that could hurt the programme.
const defaultMaxPurchaseMinor = 10_000_000

// Config is the ledger's configuration.
type Config struct {
	Base svc.Base
	// Currency is the programme's currency, ISO 4217 (LEDGER_CURRENCY, default EUR).
	Currency string
	// PointsPerUnit is what one unit of Currency earns, an exact decimal such as 1 or 1.5
	// (LEDGER_POINTS_PER_UNIT, default 1). Points are floor(total_minor * rate / 10^d),
	// d being the currency's minor digits (2 for EUR, 0 for JPY).
	PointsPerUnit domain.Rate
	// OtherRates are the further currencies accepted and what one unit of each earns:
	// LEDGER_POINTS_PER_UNIT written as a table, "EUR=1,CHF=1.2,JPY=0.0065" (Currency's
	// rate is PointsPerUnit). A purchase in any other currency is refused.
	OtherRates map[string]domain.Rate
	// MaxPurchaseMinor is the largest purchase or return accepted, in minor units of its
	// currency (LEDGER_MAX_PURCHASE_MINOR, default 10,000,000: 100,000.00 EUR). A larger
	// one goes to the dead letters and earns nothing. MaxPurchaseMinorBy overrides it per
	// currency: the variable written as a table, "10000000,JPY=1500000000" (a bare number
	// is every other currency's ceiling).
	MaxPurchaseMinor   int64
	MaxPurchaseMinorBy map[string]int64
	// MaxClockSkew is how far ahead of the ledger's clock a purchase or return may be
	// dated; a later one is refused (LEDGER_MAX_CLOCK_SKEW, default 5m).
	MaxClockSkew time.Duration
	// LineToleranceMinor is how far, in minor units, the sum of a receipt's lines may be
	// from its total before the receipt is refused (LEDGER_LINE_TOLERANCE_MINOR, default
	// 0: they must match, as the POS contract says).
	LineToleranceMinor int64
	// SurveyBonusPoints is credited once per survey response (LEDGER_SURVEY_BONUS_POINTS,
	// default 50; 0 turns it off).
	SurveyBonusPoints int64
	// GoodwillBudget is the most goodwill points (granted when feedback cases are
	// resolved) booked per calendar month, UTC (LEDGER_GOODWILL_BUDGET, default 0: no
	// limit). A grant beyond it is not booked and is announced as ledger.goodwill.refused.
	GoodwillBudget int64
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
	// ClaimWindow is how long after a purchase a member may claim it with ClaimPurchase
	// (LEDGER_CLAIM_WINDOW, default 2160h: 90 days).
	ClaimWindow time.Duration
	// AdjustLimits is the most points each role may adjust at once with AdjustPoints
	// (LEDGER_ADJUST_LIMITS, default "service_agent=500,admin=100000"); a role not named
	// may not adjust.
	AdjustLimits domain.AdjustLimits
	// Lots is the policy of pending points, expiry and debts (lots.go).
	Lots LotsConfig
	// TierEvaluationInterval is how often the tier evaluation runs: downgrades due after
	// their grace, expired manual tiers (LEDGER_TIER_EVALUATION_INTERVAL, default 1h).
	TierEvaluationInterval time.Duration
	// Now is the clock (default time.Now); tests move time with it.
	Now func() time.Time
	// TimeZone is the programme's (LEDGER_TIME_ZONE, an IANA name, default UTC): earning
	// rules' weekdays and hours, and the days and months of their caps.
	TimeZone *time.Location
}

// defaultAdjustLimits are LEDGER_ADJUST_LIMITS unless set.
const defaultAdjustLimits = "service_agent=500,admin=100000"

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	env := &config.Env{}
	cfg := Config{
		Base:                 svc.LoadBase(env, "LEDGER", "127.0.0.1:7001", ""),
		Currency:             strings.ToUpper(strings.TrimSpace(env.String("LEDGER_CURRENCY", "EUR"))),
		MaxClockSkew:         env.Duration("LEDGER_MAX_CLOCK_SKEW", 5*time.Minute),
		LineToleranceMinor:   env.Int64("LEDGER_LINE_TOLERANCE_MINOR", 0),
		SurveyBonusPoints:    env.Int64("LEDGER_SURVEY_BONUS_POINTS", 50),
		GoodwillBudget:       env.Int64("LEDGER_GOODWILL_BUDGET", 0),
		HoldTTL:              env.Duration("LEDGER_HOLD_TTL", 15*time.Minute),
		HoldExpiryInterval:   env.Duration("LEDGER_HOLD_EXPIRY_INTERVAL", 5*time.Second),
		ReturnWaitDeliveries: env.Int("LEDGER_RETURN_WAIT_DELIVERIES", 3),
		ClaimWindow:          env.Duration("LEDGER_CLAIM_WINDOW", app.DefaultClaimWindow),
	}
	cfg.TierEvaluationInterval = env.Duration("LEDGER_TIER_EVALUATION_INTERVAL", time.Hour)
	err := cfg.loadRates(env.String("LEDGER_POINTS_PER_UNIT", "1"))
	if err != nil {
		err = fmt.Errorf("LEDGER_POINTS_PER_UNIT: %w", err)
	}
	if e := cfg.loadCeilings(env.String("LEDGER_MAX_PURCHASE_MINOR", strconv.Itoa(defaultMaxPurchaseMinor))); e != nil {
		err = errors.Join(err, fmt.Errorf("LEDGER_MAX_PURCHASE_MINOR: %w", e))
	}
	if cfg.MaxClockSkew < 0 || cfg.LineToleranceMinor < 0 {
		err = errors.Join(err, errors.New("LEDGER_MAX_CLOCK_SKEW and LEDGER_LINE_TOLERANCE_MINOR must not be negative"))
	}
	if err == nil {
		if _, e := cfg.posRules(); e != nil {
			err = fmt.Errorf("LEDGER_CURRENCY, LEDGER_POINTS_PER_UNIT: %w", e)
		}
	}
	if cfg.ClaimWindow < 0 {
		err = errors.Join(err, errors.New("LEDGER_CLAIM_WINDOW must not be negative"))
	}
	if cfg.SurveyBonusPoints < 0 {
		err = errors.Join(err, errors.New("LEDGER_SURVEY_BONUS_POINTS must not be negative"))
	}
	if cfg.GoodwillBudget < 0 {
		err = errors.Join(err, errors.New("LEDGER_GOODWILL_BUDGET must not be negative"))
	}
	var e error
	if cfg.AdjustLimits, e = domain.ParseAdjustLimits(env.String("LEDGER_ADJUST_LIMITS", defaultAdjustLimits)); e != nil {
		err = errors.Join(err, fmt.Errorf("LEDGER_ADJUST_LIMITS: %w", e))
	}
	err = errors.Join(err, cfg.Lots.load(env))
	tz, e := time.LoadLocation(env.String("LEDGER_TIME_ZONE", "UTC"))
	if e != nil {
		err = errors.Join(err, fmt.Errorf("LEDGER_TIME_ZONE: %w", e))
	}
	cfg.TimeZone = tz
	if err := errors.Join(env.Err(), err); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// loadRates reads LEDGER_POINTS_PER_UNIT: a bare rate is the programme currency's, and
// CUR=rate entries add other currencies ("EUR=1,CHF=1.2" names the programme's too).
func (c *Config) loadRates(s string) error {
	bare, table, err := currencyTable(s)
	if err != nil {
		return err
	}
	if bare != "" {
		table[c.Currency] = append(table[c.Currency], bare)
	}
	c.OtherRates = map[string]domain.Rate{}
	for cur, values := range table {
		if len(values) > 1 {
			return fmt.Errorf("%s has %d rates", cur, len(values))
		}
		rate, err := domain.ParseRate(values[0])
		if err != nil {
			return fmt.Errorf("%s: %w", cur, err)
		}
		if cur == c.Currency {
			c.PointsPerUnit = rate
		} else {
			c.OtherRates[cur] = rate
		}
	}
	if c.PointsPerUnit.IsZero() {
		return fmt.Errorf("no rate for the programme's currency %s (LEDGER_CURRENCY)", c.Currency)
	}
	return nil
}

// loadCeilings reads LEDGER_MAX_PURCHASE_MINOR: a bare number is every currency's
// ceiling, CUR=n entries override it for one currency.
func (c *Config) loadCeilings(s string) error {
	bare, table, err := currencyTable(s)
	if err != nil {
		return err
	}
	parse := func(v string) (int64, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a whole number above zero", v)
		}
		return n, nil
	}
	c.MaxPurchaseMinor = defaultMaxPurchaseMinor
	if bare != "" {
		if c.MaxPurchaseMinor, err = parse(bare); err != nil {
			return err
		}
	}
	c.MaxPurchaseMinorBy = map[string]int64{}
	for cur, values := range table {
		if len(values) > 1 {
			return fmt.Errorf("%s has %d ceilings", cur, len(values))
		}
		if cur != c.Currency && c.OtherRates[cur].IsZero() {
			return fmt.Errorf("a ceiling for %s, which the programme does not accept (LEDGER_POINTS_PER_UNIT)", cur)
		}
		if c.MaxPurchaseMinorBy[cur], err = parse(values[0]); err != nil {
			return fmt.Errorf("%s: %w", cur, err)
		}
	}
	return nil
}

// currencyTable splits "v" or "v,EUR=a,CHF=b" into the bare value and the values of
// each currency (upper-cased; a currency given twice keeps both, for the caller to
// refuse).
func currencyTable(s string) (bare string, table map[string][]string, err error) {
	table = map[string][]string{}
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		cur, value, isPair := strings.Cut(entry, "=")
		switch {
		case entry == "":
			return "", nil, fmt.Errorf("%q has an empty entry", s)
		case !isPair && bare != "":
			return "", nil, fmt.Errorf("%q has two values without a currency", s)
		case !isPair:
			bare = entry
		default:
			cur = strings.ToUpper(strings.TrimSpace(cur))
			table[cur] = append(table[cur], strings.TrimSpace(value))
		}
	}
	return bare, table, nil
}

// posRules builds the domain's rules from the configuration; it fails on a currency the
// ledger does not know.
func (c Config) posRules() (domain.POSRules, error) {
	tenders := []domain.Tender{{Currency: c.Currency, PointsPerUnit: c.PointsPerUnit, MaxMinor: c.maxPurchase(c.Currency)}}
	for cur, rate := range c.OtherRates {
		tenders = append(tenders, domain.Tender{Currency: cur, PointsPerUnit: rate, MaxMinor: c.maxPurchase(cur)})
	}
	return domain.NewPOSRules(tenders, c.MaxClockSkew, c.LineToleranceMinor)
}

func (c Config) maxPurchase(currency string) int64 {
	if n, ok := c.MaxPurchaseMinorBy[currency]; ok {
		return n
	}
	return c.MaxPurchaseMinor
}

// LogValue logs the configuration with its secrets masked.
func (c Config) LogValue() slog.Value {
	rates := []string{c.Currency + "=" + c.PointsPerUnit.String()}
	for cur, r := range c.OtherRates {
		rates = append(rates, cur+"="+r.String())
	}
	slices.Sort(rates[1:])
	return slog.GroupValue(
		slog.Any("base", c.Base),
		slog.String("currency", c.Currency),
		slog.String("points_per_unit", strings.Join(rates, ",")),
		slog.Int64("max_purchase_minor", c.MaxPurchaseMinor),
		slog.Any("max_purchase_minor_by", c.MaxPurchaseMinorBy),
		slog.Duration("max_clock_skew", c.MaxClockSkew),
		slog.Int64("line_tolerance_minor", c.LineToleranceMinor),
		slog.Int64("survey_bonus_points", c.SurveyBonusPoints),
		slog.Int64("goodwill_budget", c.GoodwillBudget),
		slog.Duration("hold_ttl", c.HoldTTL),
		slog.Duration("hold_expiry_interval", c.HoldExpiryInterval),
		slog.Int("return_wait_deliveries", c.ReturnWaitDeliveries),
		slog.Duration("claim_window", c.ClaimWindow),
		slog.Any("adjust_limits", c.AdjustLimits),
		c.Lots.logValue(),
		slog.Duration("tier_evaluation_interval", c.TierEvaluationInterval),
		slog.Any("time_zone", c.TimeZone),
	)
}

func (c *Config) withDefaults() {
	if c.Currency == "" {
		c.Currency = "EUR"
	}
	if c.PointsPerUnit.IsZero() {
		c.PointsPerUnit = domain.MustRate(1, 1)
	}
	if c.MaxPurchaseMinor <= 0 {
		c.MaxPurchaseMinor = defaultMaxPurchaseMinor
	}
	if c.MaxClockSkew <= 0 {
		c.MaxClockSkew = 5 * time.Minute
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
	if c.AdjustLimits == nil {
		c.AdjustLimits, _ = domain.ParseAdjustLimits(defaultAdjustLimits)
	}
	if c.TimeZone == nil {
		c.TimeZone = time.UTC
	}
	if c.Lots.Location == nil {
		c.Lots.Location = c.TimeZone
	}
	c.Lots.withDefaults()
	if c.TierEvaluationInterval <= 0 {
		c.TierEvaluationInterval = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Service is a wired ledger, ready to Run.
type Service struct{ svc.Service }

// New opens the runtime (connects, migrates, creates the LEDGER stream) and wires the
// ledger. The streams it consumes (POS, SURVEY, REWARDS) are created when its consumers
// start.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	cfg.withDefaults()
	// The POS rules first: a currency the ledger does not know fails before any connection.
	rules, err := cfg.posRules()
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	s, err := svc.Wire(ctx, cfg.Base, svc.Options{
		Name:       Name,
		Schema:     Schema,
		Migrations: migrations.FS,
		Produces:   convert.Produces,
	}, log, func(rt *svc.Runtime) error { return wire(rt, cfg, rules, log) })
	if err != nil {
		return nil, err
	}
	return &Service{s}, nil
}

func wire(rt *svc.Runtime, cfg Config, rules domain.POSRules, log *slog.Logger) error {
	application, err := app.New(app.Deps{
		Store: postgres.NewStore(rt.DB, rt.Outbox),
		Config: app.Config{
			POS:                  rules,
			SurveyBonusPoints:    cfg.SurveyBonusPoints,
			GoodwillBudget:       cfg.GoodwillBudget,
			HoldTTL:              cfg.HoldTTL,
			ReturnWaitDeliveries: cfg.ReturnWaitDeliveries,
			ClaimWindow:          cfg.ClaimWindow,
			AdjustLimits:         cfg.AdjustLimits,
			Lots:                 cfg.Lots.policy(),
			Currency:             cfg.Currency,
			Earning:              app.EarningConfig{Location: cfg.TimeZone, DefaultExpiry: cfg.Lots.Expiry},
		},
		NewID: newID, Now: cfg.Now, Log: log,
	})
	if err != nil {
		return err
	}
	if err := rt.Consume(events.Consumers(application)...); err != nil {
		return err
	}
	ledgerv1.RegisterLedgerServiceServer(rt.GRPC, grpcapi.New(application))
	ledgerv1.RegisterMemberServiceServer(rt.GRPC, grpcapi.NewMembers(application))
	ledgerv1.RegisterOperationsServiceServer(rt.GRPC, grpcapi.NewOperations(application))
	ledgerv1.RegisterTierServiceServer(rt.GRPC, grpcapi.NewTiers(application))
	ledgerv1.RegisterProgramServiceServer(rt.GRPC, grpcapi.NewProgram(application))
	privacyv1.RegisterPrivacyServiceServer(rt.GRPC, privacy.NewServer(Name, application.Queries.ExportMember.Handle, convert.Export))
	// Holds past their expiry are voided every HoldExpiryInterval.
	rt.Sweep(svc.Sweep{What: "hold expiry", Interval: cfg.HoldExpiryInterval, Batch: 200,
		Pass: func(ctx context.Context, batch int) (int, error) {
			n, err := application.Commands.ExpireHolds.Handle(ctx, batch)
			if err == nil && n > 0 {
				metrics.HoldsExpired(ctx, n)
				log.Info("holds expired", "count", n)
			}
			return n, err
		}})
	wireLots(rt, application, cfg.Lots, log)
	rt.Sweep(tierEvaluation(application, cfg.TierEvaluationInterval, log))
	return nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
