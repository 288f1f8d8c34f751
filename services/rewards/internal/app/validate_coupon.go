package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// ValidateCouponHandler tells a till whether a code can be used, without using it.
type ValidateCouponHandler struct {
	store   Store
	limiter AttemptLimiter
	now     func() time.Time
}

// Handle returns the coupon and nil when it can be used; otherwise the coupon (when
// known) and domain.ErrCouponNotFound, ErrCouponAlreadyRedeemed or ErrCouponExpired.
// Every attempt, good or bad, spends the budgets of the key, store and terminal (a
// *domain.RateLimited or *domain.LockedOut when spent); an unknown code counts as a
// failure towards a lockout.
func (h ValidateCouponHandler) Handle(ctx context.Context, code string, by CouponAttempt) (domain.Coupon, error) {
	now := h.now()
	if err := guard(ctx, h.limiter, by, now); err != nil {
		return domain.Coupon{}, err
	}
	c, err := domain.ParseCouponCode(code)
	if err != nil {
		return domain.Coupon{}, failed(ctx, h.store, by, now, domain.ErrCouponNotFound)
	}
	coupon, err := h.store.CouponByCodeHash(ctx, c.Hash())
	if err != nil {
		return domain.Coupon{}, failed(ctx, h.store, by, now, err)
	}
	return coupon, coupon.Usable(now)
}
