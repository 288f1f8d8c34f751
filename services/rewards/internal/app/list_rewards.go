package app

import (
	"context"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// ListRewardsHandler lists the catalog.
type ListRewardsHandler struct{ store Store }

func (h ListRewardsHandler) Handle(ctx context.Context, includeInactive bool) ([]domain.Reward, error) {
	return h.store.ListRewards(ctx, includeInactive)
}
