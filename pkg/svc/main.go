package svc

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/telemetry"
)

// Runner is a service ready to run until its context ends.
type Runner interface {
	Run(ctx context.Context) error
}

// Main is the main function of every service binary: it stops on SIGINT or SIGTERM, sets
// up tracing, metrics and the JSON logger (LOG_LEVEL, changeable at run time), loads the configuration, logs it with
// secrets masked, builds the service with start and runs it. It exits 1 on error.
func Main[C any, S Runner](name string, load func() (C, error), start func(context.Context, C, *slog.Logger) (S, error)) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, name, load, start)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

func run[C any, S Runner](ctx context.Context, name string, load func() (C, error), start func(context.Context, C, *slog.Logger) (S, error)) error {
	// A LevelVar, so that the admin port can change the level while the service runs.
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte((&config.Env{}).String("LOG_LEVEL", "info"))); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	ctx = WithLogLevel(ctx, level)
	log := telemetry.NewLeveledLogger(os.Stderr, name, level)
	if _, err := telemetry.SetupMetrics(name); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	shutdown, err := telemetry.Setup(ctx, name)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	}()
	cfg, err := load()
	if err != nil {
		return err
	}
	log.Info("starting", "config", cfg)
	s, err := start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
