// Command feedback runs the feedback-routing service.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/treue/treue/pkg/telemetry"

	"github.com/treue/treue/services/feedback/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "feedback:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := service.LoadConfig()
	if err != nil {
		return err
	}
	shutdown, err := telemetry.Setup(ctx, service.Name)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	}()
	// LOG_LEVEL: debug, info (default), warn or error.
	var level slog.Level
	if v := os.Getenv("LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return fmt.Errorf("LOG_LEVEL=%q: %w", v, err)
		}
	}
	log := telemetry.NewLogger(os.Stderr, service.Name, level)
	log.Info("starting", "config", cfg)
	s, err := service.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
