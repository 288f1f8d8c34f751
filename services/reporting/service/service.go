// Package service wires the reporting service: read models fed by the LEDGER, SURVEY,
// FEEDBACK and REWARDS streams, the ReportingService and PrivacyService gRPC APIs and the
// HTTP dashboard.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/privacy"
	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/svc"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	"github.com/treue/treue/services/reporting/internal/adapters/postgres"
	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/internal/convert"
	"github.com/treue/treue/services/reporting/internal/ports/events"
	"github.com/treue/treue/services/reporting/internal/ports/grpcapi"
	"github.com/treue/treue/services/reporting/internal/ports/metrics"
	"github.com/treue/treue/services/reporting/internal/ports/web"
	"github.com/treue/treue/services/reporting/migrations"
)

// Name is the service's name (logs, NATS connection name, Postgres schema).
const Name = "reporting"

// Config is the reporting service's configuration.
type Config struct {
	Base svc.Base
	// PointsShards is how many rows each day's points counter is spread over
	// (REPORTING_POINTS_SHARDS, default 8). More shards let more replicas write without
	// waiting on each other; readers sum them all, so changing it is safe.
	PointsShards int
	// DashboardRefresh is how often the dashboard page reloads itself
	// (REPORTING_DASHBOARD_REFRESH, default 5s).
	DashboardRefresh time.Duration
	// LogLevel is debug, info, warn or error (LOG_LEVEL, default info).
	LogLevel string
	// Staff is the sign-in that guards the dashboard (AUTH_DATABASE_URL, STAFF_*); a
	// zero value takes the defaults and the service's database.
	Staff staff.Config
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	env := &config.Env{}
	cfg := Config{
		Base:             svc.LoadBase(env, "REPORTING", "127.0.0.1:7005", "127.0.0.1:8085"),
		PointsShards:     env.Int("REPORTING_POINTS_SHARDS", 8),
		DashboardRefresh: env.Duration("REPORTING_DASHBOARD_REFRESH", 5*time.Second),
		LogLevel:         env.String("LOG_LEVEL", "info"),
	}
	cfg.Staff = staff.LoadConfig(env)
	if err := env.Err(); err != nil {
		return Config{}, err
	}
	if cfg.PointsShards < 1 || cfg.PointsShards > 1024 {
		return Config{}, fmt.Errorf("configuration: REPORTING_POINTS_SHARDS=%d is outside 1-1024", cfg.PointsShards)
	}
	if err := cfg.Staff.WithDefaults().Validate(); err != nil {
		return Config{}, err
	}
	if cfg.DashboardRefresh < time.Second {
		return Config{}, fmt.Errorf("configuration: REPORTING_DASHBOARD_REFRESH=%s is below 1s", cfg.DashboardRefresh)
	}
	return cfg, nil
}

// LogValue masks secrets (through Base's LogValue).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("base", c.Base),
		slog.Int("points_shards", c.PointsShards),
		slog.Duration("dashboard_refresh", c.DashboardRefresh),
		slog.String("log_level", c.LogLevel),
		slog.Any("staff", c.Staff),
	)
}

// Service is a wired, not yet running, reporting service.
type Service struct{ svc.Service }

// New opens the service's resources (database, migrations, listeners) and wires its
// consumers, gRPC API and dashboard. Run starts it.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	s, err := svc.Wire(ctx, cfg.Base, svc.Options{
		Name:       Name,
		Schema:     Name,
		Migrations: migrations.FS,
		Produces:   convert.Produces,
	}, log, func(rt *svc.Runtime) error { return wire(ctx, rt, cfg, log) })
	if err != nil {
		return nil, err
	}
	return &Service{s}, nil
}

func wire(ctx context.Context, rt *svc.Runtime, cfg Config, log *slog.Logger) error {
	store := postgres.New(rt.DB, cfg.PointsShards)
	application, err := app.New(app.Deps{Store: store, Clock: time.Now})
	if err != nil {
		return err
	}
	if err := rt.Consume(events.Consumers(application)...); err != nil {
		return err
	}
	reportingv1.RegisterReportingServiceServer(rt.GRPC, grpcapi.NewServer(application))
	privacyv1.RegisterPrivacyServiceServer(rt.GRPC, privacy.NewServer(Name, application.Queries.ExportMember.Handle, convert.Export))
	// The sign-in shares the runtime's pool of the auth schema, where the API keys are.
	staffStore, err := staff.New(ctx, rt.AuthPool, cfg.Staff, log)
	if err != nil {
		return err
	}
	rt.Background(staffStore.Pruner(10*time.Minute, log))
	rt.HandleHTTP(web.NewDashboard(application.Queries.GetDashboard, store.Ping, staff.NewWeb(staffStore, log), cfg.DashboardRefresh, time.Now, log))
	// The points liability as a gauge, read at each collection while the service runs.
	rt.Background(func(ctx context.Context) {
		reg, err := metrics.ObserveOutstanding(func(ctx context.Context) (int64, error) {
			s, err := application.Queries.GetPointsSummary.Handle(ctx)
			return s.Outstanding(), err
		})
		if err != nil {
			log.Error("points liability gauge", "err", err)
			return
		}
		<-ctx.Done()
		_ = reg.Unregister()
	})
	return nil
}
