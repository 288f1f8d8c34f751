// Package domain is the rewards service's model: the catalog, redemptions, coupon codes
// and the per-terminal attempt budget. Pure Go: no I/O, no generated types.
package domain

import "errors"

// Errors of the domain. Adapters map them to gRPC statuses; callers test with errors.Is.
var (
	ErrRewardNotFound       = errors.New("reward not found")
	ErrRewardInactive       = errors.New("reward is not active")
	ErrMemberNotFound       = errors.New("member not found")
	ErrInsufficientPoints   = errors.New("not enough points")
	ErrIdempotencyKeyReused = errors.New("idempotency key was used for a different request")
	// ErrRedemptionCancelled: the redemption under this idempotency key was cancelled; a
	// new attempt needs a new key.
	ErrRedemptionCancelled   = errors.New("redemption was cancelled")
	ErrCouponNotFound        = errors.New("coupon not found")
	ErrCouponAlreadyRedeemed = errors.New("coupon already redeemed")
	ErrCouponExpired         = errors.New("coupon expired")
	ErrTooManyAttempts       = errors.New("too many coupon attempts")
	ErrInvalidReward         = errors.New("invalid reward")
)
