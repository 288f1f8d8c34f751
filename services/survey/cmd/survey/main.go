// Command survey runs the survey service.
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
	"github.com/treue/treue/services/survey/service"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "survey:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var level slog.Level
	if err := level.UnmarshalText([]byte(envOr("LOG_LEVEL", "info"))); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	log := telemetry.NewLogger(os.Stderr, service.Name, level)

	shutdown, err := telemetry.Setup(ctx, service.Name)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	}()

	cfg, err := service.LoadConfig()
	if err != nil {
		return err
	}
	log.Info("configuration", "config", cfg)

	s, err := service.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
