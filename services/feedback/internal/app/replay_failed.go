package app

import (
	"context"
	"time"
)

// ReplayFailed sends again the failed deliveries of a subscription.
type ReplayFailed struct {
	store Store
	clock func() time.Time
}

// Handle queues again every FAILED delivery of the subscription created at or after
// since (zero: all) and returns how many; domain.ErrSubscriptionNotFound.
func (h ReplayFailed) Handle(ctx context.Context, subscriptionID string, since time.Time) (int, error) {
	var n int
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if _, err := tx.LockSubscription(ctx, subscriptionID); err != nil {
			return err
		}
		var err error
		n, err = tx.ReplayFailed(ctx, subscriptionID, since, h.clock().UTC())
		return err
	})
	return n, err
}
