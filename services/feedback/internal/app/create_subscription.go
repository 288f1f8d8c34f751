package app

import (
	"context"
	"fmt"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// CreateSubscriptionCommand subscribes a URL to event types.
type CreateSubscriptionCommand struct {
	URL         string
	EventTypes  []string
	Description string
}

// CreateSubscription stores a subscription with a fresh secret.
type CreateSubscription struct {
	store Store
	d     HookDeps
}

// Handle returns the subscription, whose Secret is shown to the caller only now; a
// *domain.FieldError for a bad URL or event type.
func (h CreateSubscription) Handle(ctx context.Context, cmd CreateSubscriptionCommand) (domain.Subscription, error) {
	if err := domain.ValidateWebhookURL(cmd.URL, h.d.Config.AllowLoopbackHTTP); err != nil {
		return domain.Subscription{}, err
	}
	for i, p := range cmd.EventTypes {
		if err := domain.ValidateEventType(p); err != nil {
			return domain.Subscription{}, &domain.FieldError{Field: fmt.Sprintf("event_types[%d]", i), Reason: err.Error()}
		}
	}
	secret, err := h.d.NewSecret()
	if err != nil {
		return domain.Subscription{}, err
	}
	s := domain.Subscription{
		ID: h.d.NewID(), URL: cmd.URL, EventTypes: cmd.EventTypes, Description: cmd.Description,
		Secret: secret, Active: true, CreatedAt: h.d.Clock().UTC().Truncate(time.Microsecond),
	}
	err = h.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.AddSubscription(ctx, s) })
	return s, err
}
