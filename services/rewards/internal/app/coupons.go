package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// CouponStore finds and uses coupons by the hash of their code.
type CouponStore interface {
	// CouponByCodeHash returns the coupon with the reward's name, or
	// domain.ErrCouponNotFound.
	CouponByCodeHash(ctx context.Context, codeHash []byte) (domain.Coupon, error)
	// UseCoupon marks the coupon redeemed, once ever, by a conditional update, and
	// records the coupon.redeemed event in the same transaction. Errors:
	// domain.ErrCouponNotFound, ErrCouponAlreadyRedeemed, ErrCouponExpired.
	UseCoupon(ctx context.Context, codeHash []byte, storeID, terminalID string) (domain.Coupon, error)
}

// AttemptLimiter budgets coupon attempts per terminal.
type AttemptLimiter interface {
	// Allow spends one attempt of key's budget, or reports that none is left.
	Allow(key string) bool
}

// ValidateCouponHandler tells a till whether a code can be used, without using it.
type ValidateCouponHandler struct {
	coupons CouponStore
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
	coupon, err := h.coupons.CouponByCodeHash(ctx, c.Hash())
	if err != nil {
		return domain.Coupon{}, err
	}
	return coupon, coupon.Usable(h.now())
}

// RedeemCoupon uses a code at a till.
type RedeemCoupon struct {
	Code       string
	TerminalID string
	StoreID    string
}

// RedeemCouponHandler uses a code, once ever.
type RedeemCouponHandler struct {
	coupons CouponStore
	limiter AttemptLimiter
}

func (h RedeemCouponHandler) Handle(ctx context.Context, cmd RedeemCoupon) (domain.Coupon, error) {
	if !h.limiter.Allow(cmd.TerminalID) {
		return domain.Coupon{}, domain.ErrTooManyAttempts
	}
	c, err := domain.ParseCouponCode(cmd.Code)
	if err != nil {
		return domain.Coupon{}, domain.ErrCouponNotFound
	}
	return h.coupons.UseCoupon(ctx, c.Hash(), cmd.StoreID, cmd.TerminalID)
}
