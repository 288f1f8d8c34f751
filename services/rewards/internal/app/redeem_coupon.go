package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// RedeemCoupon uses a code at a till.
type RedeemCoupon struct {
	Code       string
	TerminalID string
	StoreID    string
	// KeyName is the API key's name, whose budget the attempt spends too.
	KeyName string
}

// RedeemCouponHandler uses a code, once ever.
type RedeemCouponHandler struct {
	store   Store
	limiter AttemptLimiter
	now     func() time.Time
}

// Handle returns the coupon as used, or domain.ErrCouponNotFound,
// ErrCouponAlreadyRedeemed, ErrCouponExpired or ErrTooManyAttempts.
//
// Single use rests on Store.UseCoupon, one conditional statement: of concurrent
// attempts on one code the first to lock the row updates it and writes its
// coupon.redeemed event; the others re-check the condition on the updated row and
// match nothing. Reading the coupon first, to build the event, makes two round trips
// where a transaction would take four.
func (h RedeemCouponHandler) Handle(ctx context.Context, cmd RedeemCoupon) (domain.Coupon, error) {
	by := CouponAttempt{KeyName: cmd.KeyName, StoreID: cmd.StoreID, TerminalID: cmd.TerminalID}
	if err := guard(ctx, h.limiter, by, h.now()); err != nil {
		return domain.Coupon{}, err
	}
	code, err := domain.ParseCouponCode(cmd.Code)
	if err != nil {
		return domain.Coupon{}, failed(ctx, h.store, by, h.now(), domain.ErrCouponNotFound)
	}
	c, err := h.store.CouponByCodeHash(ctx, code.Hash())
	if err != nil {
		return domain.Coupon{}, failed(ctx, h.store, by, h.now(), err)
	}
	// One clock judges expiry, here and in the statement: the service's, to the
	// database's precision.
	now := h.now().UTC().Truncate(time.Microsecond)
	if err := c.Usable(now); err != nil {
		return domain.Coupon{}, err
	}
	c.RedeemedAt, c.StoreID, c.TerminalID = now, cmd.StoreID, cmd.TerminalID
	switch used, err := h.store.UseCoupon(ctx, c, c.Redeemed()); {
	case err != nil:
		return domain.Coupon{}, err
	case used:
		return c, nil
	}
	// Another attempt used it first (or it expired meanwhile): say why, as of now.
	again, err := h.store.CouponByCodeHash(ctx, code.Hash())
	if err != nil {
		return domain.Coupon{}, err
	}
	if err := again.Usable(now); err != nil {
		return domain.Coupon{}, err
	}
	// Used or expired by the statement's time, and neither now, cannot be; a coupon
	// deleted meanwhile is as good as unknown.
	return domain.Coupon{}, domain.ErrCouponNotFound
}
