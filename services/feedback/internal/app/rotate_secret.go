package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// RotateSecret gives a subscription a new secret; the old one keeps signing for
// domain.PreviousSecretValidity.
type RotateSecret struct {
	store Store
	d     HookDeps
}

// Handle returns the subscription with its new Secret (shown only now), or
// domain.ErrSubscriptionNotFound.
func (h RotateSecret) Handle(ctx context.Context, id string) (domain.Subscription, error) {
	secret, err := h.d.NewSecret()
	if err != nil {
		return domain.Subscription{}, err
	}
	var s domain.Subscription
	err = h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if s, err = tx.LockSubscription(ctx, id); err != nil {
			return err
		}
		now := h.d.Clock().UTC().Truncate(time.Microsecond)
		s.PreviousSecret, s.PreviousUntil = s.Secret, now.Add(domain.PreviousSecretValidity)
		s.Secret, s.RotatedAt = secret, now
		return tx.SaveSubscription(ctx, s)
	})
	return s, err
}
