package app

import (
	"context"
	"errors"
	"time"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// CouponAttempt is who tries a coupon code: the API key's name, the store, the terminal.
type CouponAttempt struct {
	KeyName    string
	StoreID    string
	TerminalID string
}

// guard spends the attempt's budgets before a code is looked at: guessing codes must be
// slow, whatever terminal ids a guesser makes up.
func guard(ctx context.Context, limiter AttemptLimiter, a CouponAttempt, now time.Time) error {
	return limiter.Attempt(ctx, domain.AttemptScopes(a.KeyName, a.StoreID, a.TerminalID), now)
}

// failed counts an unknown code against the attempt's scopes and, in the same
// transaction, emits an alert for every scope it locked. It returns err (the not-found
// the caller answers with), or the failure to count.
func failed(ctx context.Context, store Store, a CouponAttempt, now time.Time, err error) error {
	if !errors.Is(err, domain.ErrCouponNotFound) {
		return err
	}
	scopes := domain.AttemptScopes(a.KeyName, a.StoreID, a.TerminalID)
	if cerr := store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		locks, err := tx.CountCouponFailure(ctx, scopes, now)
		if err != nil {
			return err
		}
		for _, l := range locks {
			if err := tx.Emit(ctx, domain.CouponGuessingSuspected{
				Scope: l.Scope, Failures: l.Failures, LockedUntil: l.Until, DetectedAt: now,
				KeyName: a.KeyName, StoreID: a.StoreID, TerminalID: a.TerminalID,
			}); err != nil {
				return err
			}
		}
		return nil
	}); cerr != nil {
		return cerr
	}
	return err
}
