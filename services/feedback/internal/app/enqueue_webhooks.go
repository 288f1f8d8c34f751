package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// EnqueueWebhooks queues one delivery per event and active subscription that wants it,
// in the transaction of the consumer's batch.
type EnqueueWebhooks struct {
	store Store
	clock func() time.Time
	newID func() string
}

// Handle returns how many deliveries it queued.
func (h EnqueueWebhooks) Handle(ctx context.Context, events []domain.HookEvent) (int, error) {
	var n int
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		subs, err := tx.ActiveSubscriptions(ctx)
		if err != nil || len(subs) == 0 {
			return err
		}
		now := h.clock().UTC()
		var ds []domain.WebhookDelivery
		for _, e := range events {
			var body []byte
			for _, s := range subs {
				if !s.Wants(e.Subject) {
					continue
				}
				if body == nil {
					if body, err = domain.WebhookBody(e, now); err != nil {
						return err
					}
				}
				ds = append(ds, domain.WebhookDelivery{
					ID: h.newID(), SubscriptionID: s.ID, EventID: e.ID, EventType: e.Subject, Body: body,
					Status: domain.DeliveryPending, NextAttemptAt: now, CreatedAt: now, MemberID: e.MemberID,
				})
			}
		}
		n, err = tx.AddDeliveries(ctx, ds)
		return err
	})
	return n, err
}
