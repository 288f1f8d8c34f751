// Command reporting runs the reporting service: NPS, points and follow-up figures from
// every stream, served over gRPC and as an HTTP dashboard.
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
	"github.com/treue/treue/services/reporting/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "reporting:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := service.LoadConfig()
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("configuration: LOG_LEVEL=%q: %w", cfg.LogLevel, err)
	}
	shutdown, err := telemetry.Setup(ctx, service.Name)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	}()
	log := telemetry.NewLogger(os.Stderr, service.Name, level)
	log.Info("starting", "config", cfg)

	s, err := service.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
