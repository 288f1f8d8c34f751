// Package app holds the rewards service's use cases, one per file, each a struct with a
// Handle method. They depend on the domain and on the ports they declare (ports.go);
// the adapters implement those, the inbound ports (gRPC, events) call the use cases.
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

// Application gathers the use cases: commands change state, queries read it.
type Application struct {
	Commands Commands
	Queries  Queries
}

// Commands change state.
type Commands struct {
	CreateReward    CreateRewardHandler
	Redeem          RedeemHandler
	SettleAbandoned SettleAbandonedHandler
	ForgetCodes     ForgetCodesHandler
	RedeemCoupon    RedeemCouponHandler
	EraseMembers    EraseMembersHandler
}

// Queries read state.
type Queries struct {
	ListRewards ListRewardsHandler
	// ValidateCoupon reads a coupon; it spends the terminal's attempt budget, which is
	// kept in memory, not in the store.
	ValidateCoupon ValidateCouponHandler
	ExportMember   ExportMemberHandler
}

// Deps are what the use cases need: the ports' implementations and the operator's
// settings.
type Deps struct {
	Store   Store
	Ledger  Ledger
	Limiter AttemptLimiter
	Sealer  CodeSealer
	Log     *slog.Logger
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
	// Now is the clock of the coupons' expiry; nil for time.Now.
	Now func() time.Time
}

// New builds the use cases; it refuses a missing dependency or setting.
func New(d Deps) (*Application, error) {
	if d.Store == nil || d.Ledger == nil || d.Limiter == nil || d.Sealer == nil || d.Log == nil {
		return nil, errors.New("app: store, ledger, limiter, sealer and logger are required")
	}
	if d.HoldTTL <= 0 || d.FinishTimeout <= 0 || d.CodeRetryWindow <= 0 || d.SettleAfter <= 0 {
		return nil, errors.New("app: hold TTL, finish timeout, code retry window and settle delay must be positive")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	redeem := RedeemHandler{
		store: d.Store, ledger: d.Ledger, sealer: d.Sealer, log: d.Log,
		holdTTL: d.HoldTTL, finishTimeout: d.FinishTimeout, codeRetryWindow: d.CodeRetryWindow,
	}
	return &Application{
		Commands: Commands{
			CreateReward:    CreateRewardHandler{store: d.Store},
			Redeem:          redeem,
			SettleAbandoned: SettleAbandonedHandler{redeem: redeem, settleAfter: d.SettleAfter, log: d.Log},
			ForgetCodes:     ForgetCodesHandler{store: d.Store},
			RedeemCoupon:    RedeemCouponHandler{store: d.Store, limiter: d.Limiter, now: d.Now},
			EraseMembers:    EraseMembersHandler{store: d.Store},
		},
		Queries: Queries{
			ListRewards:    ListRewardsHandler{store: d.Store},
			ValidateCoupon: ValidateCouponHandler{store: d.Store, limiter: d.Limiter, now: d.Now},
			ExportMember:   ExportMemberHandler{store: d.Store, now: d.Now},
		},
	}, nil
}
