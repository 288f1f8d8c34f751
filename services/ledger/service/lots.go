package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// LotsConfig is the programme's policy for pending points, expiry and debts, and the
// pace of the jobs that apply it.
type LotsConfig struct {
	// ReturnWindow is how long a purchase's points stay pending, counted from the
	// purchase (LEDGER_RETURN_WINDOW, default 336h: 14 days; 0 credits them at once).
	ReturnWindow time.Duration
	// Expiry is when points expire (LEDGER_POINTS_EXPIRY: never, months:N, quarters:N,
	// years:N; default months:24), counted from the credit.
	Expiry domain.ExpiryPolicy
	// Location is where ends of quarters and years fall: the programme's time zone,
	// Config.TimeZone (LEDGER_TIME_ZONE).
	Location *time.Location
	// ExpiryNotice is how long before a lot expires ledger.points.expiring_soon is sent
	// (LEDGER_EXPIRY_NOTICE, default 720h; 0 sends none).
	ExpiryNotice time.Duration
	// DebtRepeatWindow: a member with a second debt within it is flagged
	// (LEDGER_DEBT_REPEAT_WINDOW, default 8760h: a year).
	DebtRepeatWindow time.Duration
	// Interval is how often the jobs look for points to mature, expire or announce
	// (LEDGER_LOTS_INTERVAL, default 1m); Batch how many lots one transaction handles
	// (LEDGER_LOTS_BATCH, default 5000).
	Interval time.Duration
	Batch    int
}

func (c *LotsConfig) load(env *config.Env) error {
	c.ReturnWindow = env.Duration("LEDGER_RETURN_WINDOW", 14*24*time.Hour)
	c.ExpiryNotice = env.Duration("LEDGER_EXPIRY_NOTICE", 30*24*time.Hour)
	c.DebtRepeatWindow = env.Duration("LEDGER_DEBT_REPEAT_WINDOW", 365*24*time.Hour)
	c.Interval = env.Duration("LEDGER_LOTS_INTERVAL", time.Minute)
	c.Batch = env.Int("LEDGER_LOTS_BATCH", 5000)
	var err error
	if c.Expiry, err = domain.ParseExpiryPolicy(env.String("LEDGER_POINTS_EXPIRY", "months:24")); err != nil {
		err = fmt.Errorf("LEDGER_POINTS_EXPIRY: %w", err)
	}
	if c.ReturnWindow < 0 || c.ExpiryNotice < 0 || c.DebtRepeatWindow < 0 {
		err = errors.Join(err, errors.New("LEDGER_RETURN_WINDOW, LEDGER_EXPIRY_NOTICE and LEDGER_DEBT_REPEAT_WINDOW must not be negative"))
	}
	if c.Batch < 1 || c.Batch > 50_000 {
		err = errors.Join(err, errors.New("LEDGER_LOTS_BATCH must be 1 to 50000"))
	}
	return err
}

func (c *LotsConfig) withDefaults() {
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.DebtRepeatWindow <= 0 {
		c.DebtRepeatWindow = 365 * 24 * time.Hour
	}
	if c.Interval <= 0 {
		c.Interval = time.Minute
	}
	if c.Batch <= 0 {
		c.Batch = 5000
	}
}

func (c LotsConfig) policy() domain.LotPolicy {
	return domain.LotPolicy{ReturnWindow: c.ReturnWindow, Expiry: c.Expiry, Location: c.Location,
		Notice: c.ExpiryNotice, DebtRepeatWindow: c.DebtRepeatWindow}
}

func (c LotsConfig) logValue() slog.Attr {
	return slog.Group("lots", slog.Duration("return_window", c.ReturnWindow), slog.String("expiry", c.Expiry.String()),
		slog.String("time_zone", c.Location.String()), slog.Duration("expiry_notice", c.ExpiryNotice),
		slog.Duration("debt_repeat_window", c.DebtRepeatWindow), slog.Duration("interval", c.Interval), slog.Int("batch", c.Batch))
}

// wireLots starts the jobs that mature pending points, expire lots and announce
// expiries, each exactly once per credit or lot and safe to kill at any moment.
func wireLots(rt *svc.Runtime, application *app.Application, cfg LotsConfig, log *slog.Logger) {
	for _, job := range []struct {
		what string
		pass func(context.Context, int) (int, error)
	}{
		{"points maturation", application.Commands.MaturePoints.Handle},
		{"points expiry", application.Commands.ExpirePoints.Handle},
		{"expiry notices", application.Commands.AnnounceExpiries.Handle},
	} {
		rt.Sweep(svc.Sweep{What: job.what, Interval: cfg.Interval, Batch: cfg.Batch,
			Pass: func(ctx context.Context, batch int) (int, error) {
				n, err := job.pass(ctx, batch)
				if err == nil && n > 0 {
					log.Info(job.what, "count", n)
				}
				return n, err
			}})
	}
}
