package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// DisableSubscription stops a subscription: no new deliveries, and its pending ones wait.
type DisableSubscription struct{ store Store }

// Handle returns the subscription, or domain.ErrSubscriptionNotFound.
func (h DisableSubscription) Handle(ctx context.Context, id string) (domain.Subscription, error) {
	var s domain.Subscription
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if s, err = tx.LockSubscription(ctx, id); err != nil {
			return err
		}
		s.Active = false
		return tx.SaveSubscription(ctx, s)
	})
	return s, err
}
