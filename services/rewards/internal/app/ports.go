package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// Store keeps the catalog, the redemptions and the coupons. Every redemption it
// returns includes its sealed code while the retry window is open, and none after.
type Store interface {
	// InTx runs fn in one transaction: the one the context carries (an event consumer's
	// batch) or a new one, committed when fn returns nil.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error

	// StartRedemption records r as requested, with the reward's terms copied, unless a
	// redemption with r's idempotency key exists: then it returns that one and false.
	// domain.ErrRewardNotFound or ErrRewardInactive when there is none and the reward
	// cannot be redeemed. It commits on its own, in one statement when the redemption is
	// new: a Redeem commits this step before it calls the ledger, and a transaction
	// around one statement would only add two round trips to every Redeem.
	StartRedemption(ctx context.Context, r NewRedemption) (domain.Redemption, bool, error)
	// UseCoupon marks c's coupon redeemed at c.RedeemedAt by c.StoreID and c.TerminalID,
	// and writes ev with it, in one statement that does both only while the coupon is
	// unused and unexpired at c.RedeemedAt: a coupon is used once ever, and its event
	// written once. It reports whether it did.
	UseCoupon(ctx context.Context, c domain.Coupon, ev domain.Event) (bool, error)

	// ListRewards returns the catalog, oldest first; inactive rewards only when asked.
	ListRewards(ctx context.Context, includeInactive bool) ([]domain.Reward, error)
	// Redemption returns a redemption by id.
	Redemption(ctx context.Context, id string) (domain.Redemption, error)
	// CouponByCodeHash returns the coupon with the reward's name, or
	// domain.ErrCouponNotFound.
	CouponByCodeHash(ctx context.Context, codeHash []byte) (domain.Coupon, error)
	// MemberRecords returns what is stored about the member with the canonical id
	// memberID (records.At is left to the caller); none is not an error.
	MemberRecords(ctx context.Context, memberID string) (domain.MemberRecords, error)
}

// Tx changes state inside a transaction; what it writes commits or rolls back with the
// events emitted in it.
type Tx interface {
	CreateReward(ctx context.Context, r domain.Reward) (domain.Reward, error)
	// CompleteRedemption stores the coupon (the hash of its code, never the code) and
	// marks the requested redemption completed with its hold and its sealed code, kept
	// for c.ShowFor unless the member was erased. ErrNotRequested when the redemption is
	// no longer requested; ErrCodeTaken when the code's hash is already stored.
	CompleteRedemption(ctx context.Context, c Completion) (domain.Redemption, error)
	// CancelRedemption marks a requested redemption cancelled, with its hold if holdID
	// is not empty. ErrNotRequested when it is no longer requested.
	CancelRedemption(ctx context.Context, redemptionID, holdID, reason string) (domain.Redemption, error)
	// ClaimAbandoned returns up to limit redemptions requested for longer than
	// olderThan, oldest first, and claims them for lease: until then no other claim
	// returns them. Concurrent claims (other replicas) skip each other's rows instead of
	// waiting for them, and get disjoint sets.
	ClaimAbandoned(ctx context.Context, olderThan, lease time.Duration, limit int) ([]domain.Redemption, error)
	// ForgetSealedCodes wipes up to limit sealed codes whose retry window has passed and
	// returns how many it wiped.
	ForgetSealedCodes(ctx context.Context, limit int) (int, error)
	// EraseMembers records the erasures (the first of a member's counts) and wipes the
	// members' sealed codes. The member ids are canonical UUIDs.
	EraseMembers(ctx context.Context, erasures []domain.MemberErasure) error
	// CountCouponFailure counts an unknown code against every scope and locks those that
	// reach the policy's failure limit; it returns the scopes it locked now (a scope
	// already locked is not returned again).
	CountCouponFailure(ctx context.Context, scopes []domain.AttemptScope, now time.Time) ([]domain.Lock, error)
	// Emit writes events to the outbox, to be published once the transaction commits.
	Emit(ctx context.Context, events ...domain.Event) error
}

// NewRedemption is a redemption about to be requested.
type NewRedemption struct {
	ID             string
	IdempotencyKey string
	RequestHash    []byte
	MemberID       string
	RewardID       string
	// GoodwillCaseID makes it a coupon given free as goodwill on this feedback case:
	// no points, no hold.
	GoodwillCaseID string
	GoodwillReason string
}

// Completion is what completes a redemption: its hold and its coupon.
type Completion struct {
	RedemptionID string
	// HoldID is "" for a goodwill redemption, which has none.
	HoldID   string
	CouponID string
	CodeHash []byte
	// SealedCode is the code as CodeSealer sealed it, kept for ShowFor.
	SealedCode []byte
	ShowFor    time.Duration
}

// CodeSealer keeps a coupon code unreadable at rest while a retry may still ask for it.
type CodeSealer interface {
	// Seal encrypts code, bound to redemptionID.
	Seal(redemptionID string, code domain.CouponCode) ([]byte, error)
	// Open decrypts what Seal returned for the same redemptionID; an error when it
	// cannot (another key, another redemption, damage).
	Open(redemptionID string, sealed []byte) (domain.CouponCode, error)
}

// Ledger is what a redemption asks of the ledger service.
type Ledger interface {
	// PlaceHold moves points from the member to a hold, idempotently by key. Errors:
	// domain.ErrInsufficientPoints, domain.ErrMemberNotFound, ErrLedgerRejected (no
	// hold was placed) and ErrLedgerUnavailable (unknown whether one was).
	PlaceHold(ctx context.Context, req HoldRequest) (Hold, error)
	// VoidHold gives held points back; voiding a voided hold is not an error.
	VoidHold(ctx context.Context, holdID, reason string) error
}

// HoldRequest asks the ledger for a hold.
type HoldRequest struct {
	IdempotencyKey string
	MemberID       string
	Points         int64
	Reference      string
	TTL            time.Duration
}

// HoldStatus is where a hold stands in the ledger.
type HoldStatus string

const (
	HoldPlaced   HoldStatus = "placed"
	HoldCaptured HoldStatus = "captured"
	HoldVoided   HoldStatus = "voided"
	HoldExpired  HoldStatus = "expired"
)

// Hold is a ledger hold as a redemption sees it.
type Hold struct {
	ID     string
	Status HoldStatus
}

// AttemptLimiter budgets coupon attempts per API key, store and terminal, shared by
// every replica.
type AttemptLimiter interface {
	// Attempt spends one attempt of every scope's budget at now. It returns a
	// *domain.LockedOut when a scope is locked, a *domain.RateLimited when a scope's
	// budget for the minute is spent, and nil otherwise.
	Attempt(ctx context.Context, scopes []domain.AttemptScope, now time.Time) error
}

// inTx runs fn in one transaction of store and returns its result.
func inTx[T any](ctx context.Context, store Store, fn func(ctx context.Context, tx Tx) (T, error)) (T, error) {
	var out T
	err := store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		out, err = fn(ctx, tx)
		return err
	})
	return out, err
}
