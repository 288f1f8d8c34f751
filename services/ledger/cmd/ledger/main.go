// Command ledger runs the Treue points ledger.
package main

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
	"github.com/treue/treue/services/ledger/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ledger:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	shutdown, err := telemetry.Setup(ctx, service.Name)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	}()
	level := slog.LevelInfo
	if err := level.UnmarshalText([]byte((&config.Env{}).String("LOG_LEVEL", "info"))); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	log := telemetry.NewLogger(os.Stderr, service.Name, level)

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
