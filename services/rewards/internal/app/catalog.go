package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// Catalog stores rewards.
type Catalog interface {
	CreateReward(ctx context.Context, r domain.Reward) (domain.Reward, error)
	// ListRewards returns the catalog, oldest first; inactive rewards only when asked.
	ListRewards(ctx context.Context, includeInactive bool) ([]domain.Reward, error)
}

// ListRewardsHandler lists the catalog.
type ListRewardsHandler struct{ catalog Catalog }

func (h ListRewardsHandler) Handle(ctx context.Context, includeInactive bool) ([]domain.Reward, error) {
	return h.catalog.ListRewards(ctx, includeInactive)
}

// CreateReward is a new catalog entry.
type CreateReward struct {
	Name        string
	Kind        domain.RewardKind
	PointsPrice int64
	ValueMinor  int64
	Currency    string
	// ValidDays 0 means domain.DefaultValidDays.
	ValidDays int
}

// CreateRewardHandler adds a reward to the catalog.
type CreateRewardHandler struct{ catalog Catalog }

func (h CreateRewardHandler) Handle(ctx context.Context, cmd CreateReward) (domain.Reward, error) {
	r, err := domain.NewReward(uuid.Must(uuid.NewV7()).String(), cmd.Name, cmd.Kind, cmd.PointsPrice, cmd.ValueMinor, cmd.Currency, cmd.ValidDays)
	if err != nil {
		return domain.Reward{}, err
	}
	return h.catalog.CreateReward(ctx, r)
}
