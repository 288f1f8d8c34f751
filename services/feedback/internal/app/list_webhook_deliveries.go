package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ListWebhookDeliveriesQuery selects a page of a subscription's delivery log.
type ListWebhookDeliveriesQuery struct {
	SubscriptionID string
	FailedOnly     bool
	After          *DeliveryCursor
	Limit          int
}

// DeliveryPage is a page of deliveries and where the next one starts (nil: last page).
type DeliveryPage struct {
	Deliveries []domain.WebhookDelivery
	Next       *DeliveryCursor
}

// ListWebhookDeliveries pages through a subscription's deliveries, newest first.
type ListWebhookDeliveries struct{ store Store }

// Handle returns a page, or domain.ErrSubscriptionNotFound.
func (h ListWebhookDeliveries) Handle(ctx context.Context, q ListWebhookDeliveriesQuery) (DeliveryPage, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if _, err := h.store.Subscription(ctx, q.SubscriptionID); err != nil {
		return DeliveryPage{}, err
	}
	ds, err := h.store.WebhookDeliveries(ctx, q.SubscriptionID, q.FailedOnly, q.After, q.Limit+1)
	if err != nil {
		return DeliveryPage{}, err
	}
	page := DeliveryPage{Deliveries: ds}
	if len(ds) > q.Limit {
		page.Deliveries = ds[:q.Limit]
		last := page.Deliveries[q.Limit-1]
		page.Next = &DeliveryCursor{CreatedAt: last.CreatedAt, DeliveryID: last.ID}
	}
	return page, nil
}
