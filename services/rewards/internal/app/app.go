// Package app holds the rewards service's use cases. Each depends only on the small
// interfaces it declares; the adapters implement them.
package app

import (
	"errors"
	"log/slog"
	"time"
)

// Errors of the application layer (the domain's are in package domain).
var (
	// ErrLedgerUnavailable: the ledger could not be reached or did not answer in time, so
	// whether a hold was placed is unknown. The redemption stays requested; a retry with
	// the same idempotency key resumes it.
	ErrLedgerUnavailable = errors.New("ledger unavailable")
	// ErrLedgerRejected: the ledger refused the call for a reason that is ours, not the
	// caller's (a bad key, a request it finds invalid). No hold was placed.
	ErrLedgerRejected = errors.New("ledger rejected the call")
	// ErrNotRequested: a redemption was no longer in status requested when a step meant
	// to move it on ran (another call completed or cancelled it first).
	ErrNotRequested = errors.New("redemption is no longer requested")
	// ErrCodeTaken: a freshly drawn coupon code's hash is already stored. With 80 random
	// bits this does not happen; drawing again is the answer if it does.
	ErrCodeTaken = errors.New("coupon code already taken")
)

// Application gathers the use cases.
type Application struct {
	ListRewards     ListRewardsHandler
	CreateReward    CreateRewardHandler
	Redeem          RedeemHandler
	SettleAbandoned SettleAbandonedHandler
	ForgetCodes     ForgetCodesHandler
	ValidateCoupon  ValidateCouponHandler
	RedeemCoupon    RedeemCouponHandler
}

// Store is everything the use cases need from persistence; one adapter implements it.
type Store interface {
	Catalog
	RedemptionStore
	AbandonedStore
	CouponStore
}

// Settings are the operator's choices the use cases need.
type Settings struct {
	// HoldTTL is how long the ledger keeps a hold it has not been told to capture.
	HoldTTL time.Duration
	// FinishTimeout bounds a redemption's steps after its hold was asked for; they run
	// even if the caller hangs up, so that no hold is left half done.
	FinishTimeout time.Duration
	// CodeRetryWindow is how long a completed redemption keeps its code sealed, so that
	// a retry with the same idempotency key can show it again.
	CodeRetryWindow time.Duration
	// SettleAfter is how long a redemption may stay requested before the settler takes
	// it for abandoned (its call crashed) and settles it.
	SettleAfter time.Duration
}

// New wires the use cases.
func New(store Store, ledger Ledger, limiter AttemptLimiter, sealer CodeSealer, settings Settings, log *slog.Logger) (Application, error) {
	if store == nil || ledger == nil || limiter == nil || sealer == nil || log == nil {
		return Application{}, errors.New("app: store, ledger, limiter, sealer and logger are required")
	}
	if settings.HoldTTL <= 0 || settings.FinishTimeout <= 0 || settings.CodeRetryWindow <= 0 || settings.SettleAfter <= 0 {
		return Application{}, errors.New("app: hold TTL, finish timeout, code retry window and settle delay must be positive")
	}
	redeem := RedeemHandler{store: store, ledger: ledger, sealer: sealer, settings: settings, log: log}
	return Application{
		ListRewards:     ListRewardsHandler{catalog: store},
		CreateReward:    CreateRewardHandler{catalog: store},
		Redeem:          redeem,
		SettleAbandoned: SettleAbandonedHandler{redeem: redeem, store: store, settings: settings, log: log},
		ForgetCodes:     ForgetCodesHandler{store: store},
		ValidateCoupon:  ValidateCouponHandler{coupons: store, limiter: limiter, now: time.Now},
		RedeemCoupon:    RedeemCouponHandler{coupons: store, limiter: limiter},
	}, nil
}
