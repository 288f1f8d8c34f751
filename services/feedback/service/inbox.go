package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/ports/web"
)

// wireInbox serves the agent's inbox on the HTTP port (FEEDBACK_HTTP_ADDR), behind the
// staff sign-in whose accounts live in the auth schema; none without an HTTP address.
func wireInbox(ctx context.Context, rt *svc.Runtime, cfg Config, application *app.Application, now func() time.Time, log *slog.Logger) error {
	if cfg.Base.HTTPAddr == "" {
		return nil
	}
	staffStore, err := staff.New(ctx, rt.AuthPool, cfg.Staff, log)
	if err != nil {
		return err
	}
	rt.Background(staffStore.Pruner(10*time.Minute, log))
	rt.HandleHTTP(web.New(application, staff.NewWeb(staffStore, log), now, log))
	return nil
}
