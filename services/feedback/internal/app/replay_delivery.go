package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ReplayDelivery sends a delivery again, whatever its state, with a fresh attempt budget.
type ReplayDelivery struct {
	store Store
	clock func() time.Time
}

// Handle returns the delivery as queued again, or domain.ErrDeliveryNotFound.
func (h ReplayDelivery) Handle(ctx context.Context, id string) (domain.WebhookDelivery, error) {
	var d domain.WebhookDelivery
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		d, err = tx.ReplayDelivery(ctx, id, h.clock().UTC())
		return err
	})
	return d, err
}
