package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/svc"

	"github.com/treue/treue/services/feedback/internal/adapters/mail"
	"github.com/treue/treue/services/feedback/internal/adapters/rewardsclient"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// defaultGoodwillRewardRoles are FEEDBACK_GOODWILL_REWARD_ROLES unless set: a coupon
// has a cash value, so the team leads and managers signed in to the inbox and admin keys
// may grant one; agents (and service_agent keys) grant points within their limits.
const defaultGoodwillRewardRoles = "admin,team_lead,manager"

// GoodwillRewardConfig is how coupon rewards granted as goodwill are issued: the rewards
// service and the worker that asks it for the coupons and emails their codes.
type GoodwillRewardConfig struct {
	// Roles may grant a coupon reward when resolving a case
	// (FEEDBACK_GOODWILL_REWARD_ROLES, default "admin,team_lead,manager"): API key roles
	// and, in the inbox, the staff member's team role.
	Roles []string
	// RewardsAddr is the rewards service's gRPC address (FEEDBACK_REWARDS_ADDR); empty:
	// goodwill rewards are off (a resolve asking for one is refused).
	RewardsAddr string
	// APIKey is this service's key for the rewards service, with the role goodwill
	// (FEEDBACK_REWARDS_API_KEY). A secret: never logged.
	APIKey string
	// Timeout of one call to the rewards service (FEEDBACK_REWARDS_TIMEOUT, 10s).
	Timeout time.Duration
	// Interval: how often due calls are looked for (FEEDBACK_GOODWILL_REWARD_INTERVAL,
	// 1s); Batch calls per pass (20).
	Interval time.Duration
	Batch    int
	// MaxAttempts per reward before it is recorded failed or not emailed
	// (FEEDBACK_GOODWILL_REWARD_MAX_ATTEMPTS, 8); Backoff after the first failed
	// attempt, doubled after each (FEEDBACK_GOODWILL_REWARD_BACKOFF, 30s), at most
	// BackoffMax (1h). Keep the attempts well within the rewards service's code retry
	// window (REWARDS_CODE_RETRY_WINDOW, 24h): a retry after it cannot email the code.
	MaxAttempts int
	Backoff     time.Duration
	BackoffMax  time.Duration
}

// DefaultGoodwillRewardConfig has every default (rewards off).
func DefaultGoodwillRewardConfig() GoodwillRewardConfig {
	return GoodwillRewardConfig{
		Roles: domain.ParseRoles(defaultGoodwillRewardRoles), Timeout: 10 * time.Second, Interval: time.Second,
		Batch: 20, MaxAttempts: 8, Backoff: 30 * time.Second, BackoffMax: time.Hour,
	}
}

func (g GoodwillRewardConfig) withDefaults() GoodwillRewardConfig {
	d := DefaultGoodwillRewardConfig()
	if g.Roles == nil {
		g.Roles = d.Roles
	}
	if g.Timeout <= 0 {
		g.Timeout = d.Timeout
	}
	if g.Interval <= 0 {
		g.Interval = d.Interval
	}
	if g.Batch <= 0 {
		g.Batch = d.Batch
	}
	if g.MaxAttempts <= 0 {
		g.MaxAttempts = d.MaxAttempts
	}
	if g.Backoff <= 0 {
		g.Backoff = d.Backoff
	}
	if g.BackoffMax < g.Backoff {
		g.BackoffMax = max(d.BackoffMax, g.Backoff)
	}
	return g
}

func loadGoodwillRewards(env *config.Env) GoodwillRewardConfig {
	d := DefaultGoodwillRewardConfig()
	return GoodwillRewardConfig{
		Roles:       domain.ParseRoles(env.String("FEEDBACK_GOODWILL_REWARD_ROLES", defaultGoodwillRewardRoles)),
		RewardsAddr: env.String("FEEDBACK_REWARDS_ADDR", ""),
		APIKey:      env.String("FEEDBACK_REWARDS_API_KEY", ""),
		Timeout:     env.Duration("FEEDBACK_REWARDS_TIMEOUT", d.Timeout),
		Interval:    env.Duration("FEEDBACK_GOODWILL_REWARD_INTERVAL", d.Interval),
		Batch:       d.Batch,
		MaxAttempts: env.Int("FEEDBACK_GOODWILL_REWARD_MAX_ATTEMPTS", d.MaxAttempts),
		Backoff:     env.Duration("FEEDBACK_GOODWILL_REWARD_BACKOFF", d.Backoff),
		BackoffMax:  d.BackoffMax,
	}
}

// LogValue masks the key.
func (g GoodwillRewardConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("roles", g.Roles), slog.String("rewards_addr", g.RewardsAddr),
		slog.String("api_key", config.Mask(g.APIKey)), slog.Duration("timeout", g.Timeout),
		slog.Int("max_attempts", g.MaxAttempts), slog.Duration("backoff", g.Backoff))
}

// rewardsClient connects to the rewards service; nil when goodwill rewards are off.
func rewardsClient(rt *svc.Runtime, cfg Config, log *slog.Logger) (app.Rewards, error) {
	g := cfg.GoodwillRewards.withDefaults()
	if g.RewardsAddr == "" {
		return nil, nil
	}
	if g.APIKey == "" {
		log.Warn("FEEDBACK_REWARDS_API_KEY is empty: the rewards service will refuse every goodwill coupon")
	}
	c, err := rewardsclient.New(g.RewardsAddr, g.APIKey, g.Timeout, cfg.Base.Tracing)
	if err != nil {
		return nil, err
	}
	rt.Background(func(ctx context.Context) {
		<-ctx.Done()
		_ = c.Close()
	})
	return c, nil
}

// wireGoodwillRewards runs the worker that asks the rewards service for goodwill coupons
// and emails their codes (with the lifecycle's SMTP server; none: not emailed).
func wireGoodwillRewards(rt *svc.Runtime, cfg Config, store app.Store, rewards app.Rewards, now func() time.Time) error {
	if rewards == nil {
		return nil
	}
	g := cfg.GoodwillRewards.withDefaults()
	var mailer app.MemberMailer
	if l := cfg.Lifecycle.withDefaults(); l.SMTPAddr != "" {
		m, err := l.mailer()
		if err != nil {
			return errors.Join(errors.New("goodwill reward emails"), err)
		}
		mailer = m
	}
	worker := app.NewSendGoodwillRewards(store, rewards, mailer, app.GoodwillRewardConfig{
		MaxAttempts: g.MaxAttempts, Backoff: g.Backoff, BackoffMax: g.BackoffMax,
		// A pass works its claimed calls one after the other, each a rewards call and an
		// email: the lease outlives the whole batch, or another replica takes a call up
		// (and emails the code) while this one is still on its way to it.
		Lease: time.Duration(g.Batch)*(g.Timeout+mail.DefaultTimeout) + time.Minute,
	}, now)
	rt.Sweep(svc.Sweep{What: "goodwill rewards", Interval: g.Interval, Batch: g.Batch, Pass: worker.Pass})
	return nil
}
