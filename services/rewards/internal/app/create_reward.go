package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/treue/treue/services/rewards/internal/domain"
)

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
type CreateRewardHandler struct{ store Store }

func (h CreateRewardHandler) Handle(ctx context.Context, cmd CreateReward) (domain.Reward, error) {
	r, err := domain.NewReward(uuid.Must(uuid.NewV7()).String(), cmd.Name, cmd.Kind, cmd.PointsPrice, cmd.ValueMinor, cmd.Currency, cmd.ValidDays)
	if err != nil {
		return domain.Reward{}, err
	}
	return inTx(ctx, h.store, func(ctx context.Context, tx Tx) (domain.Reward, error) {
		return tx.CreateReward(ctx, r)
	})
}
