package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/services/ledger/internal/app"
)

// tierEvaluation is the periodic tier evaluation: every interval it walks all members,
// a page of 500 per transaction.
func tierEvaluation(a *app.Application, interval time.Duration, log *slog.Logger) svc.Sweep {
	return svc.Sweep{What: "tier evaluation", Interval: interval, Batch: 500,
		Pass: func(ctx context.Context, batch int) (int, error) {
			seen, changed, err := a.Commands.Tiers.EvaluateTiers.Handle(ctx, batch)
			if err == nil && changed > 0 {
				log.Info("tiers changed by evaluation", "count", changed)
			}
			return seen, err
		}}
}
