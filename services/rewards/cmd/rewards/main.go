// Command rewards runs the rewards service: the reward catalog, redemptions of points
// for coupons, and coupon checks at the tills.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/treue/treue/pkg/telemetry"
	"github.com/treue/treue/services/rewards/service"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "rewards:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	level := slog.LevelInfo
	if v := os.Getenv("LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return fmt.Errorf("LOG_LEVEL: %w", err)
		}
	}
	shutdownTelemetry, err := telemetry.Setup(ctx, "rewards")
	if err != nil {
		return err
	}
	defer func() { _ = shutdownTelemetry(context.WithoutCancel(ctx)) }()
	log := telemetry.NewLogger(os.Stderr, "rewards", level)

	cfg, err := service.LoadConfig()
	if err != nil {
		return err
	}
	log.Info("starting", "config", cfg)
	s, err := service.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
