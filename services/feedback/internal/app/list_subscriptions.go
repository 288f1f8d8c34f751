package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ListSubscriptions lists the subscriptions, without their secrets.
type ListSubscriptions struct{ store Store }

// Handle returns every subscription, newest first, secrets blanked.
func (h ListSubscriptions) Handle(ctx context.Context) ([]domain.Subscription, error) {
	subs, err := h.store.Subscriptions(ctx)
	for i := range subs {
		subs[i].Secret, subs[i].PreviousSecret = "", ""
	}
	return subs, err
}
