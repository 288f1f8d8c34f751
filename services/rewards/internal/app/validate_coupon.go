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
// Every attempt, good or bad, spends the terminal's budget: guessing codes must be slow.
func (h ValidateCouponHandler) Handle(ctx context.Context, code, terminalID string) (domain.Coupon, error) {
	if !h.limiter.Allow(terminalID) {
		return domain.Coupon{}, domain.ErrTooManyAttempts
	}
	c, err := domain.ParseCouponCode(code)
	if err != nil {
		return domain.Coupon{}, domain.ErrCouponNotFound
	}
	coupon, err := h.store.CouponByCodeHash(ctx, c.Hash())
	if err != nil {
		return domain.Coupon{}, err
	}
	return coupon, coupon.Usable(h.now())
}
