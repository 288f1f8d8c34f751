package domain

import (
	"crypto/sha256"
	"strings"
	"time"
)

// RedemptionStatus is where a redemption stands.
type RedemptionStatus string

const (
	// StatusRequested: recorded; the hold may or may not be placed yet.
	StatusRequested RedemptionStatus = "requested"
	// StatusCompleted: the coupon is issued; the ledger captures the hold.
	StatusCompleted RedemptionStatus = "completed"
	// StatusCancelled: no coupon; the ledger voids the hold, if there is one.
	StatusCancelled RedemptionStatus = "cancelled"
)

// Why a redemption was cancelled.
const (
	CancelInsufficientPoints = "insufficient_points"
	CancelMemberNotFound     = "member_not_found"
	CancelLedgerRejected     = "ledger_rejected"
	CancelHoldNotPlaced      = "hold_not_placed"
	CancelIssueFailed        = "issue_failed"
)

// Redemption is points spent on a reward. It copies the reward's terms when it is
// requested, so that a retry resumes at the price the member was shown.
type Redemption struct {
	ID             string
	IdempotencyKey string
	RequestHash    []byte
	MemberID       string
	RewardID       string
	Points         int64
	ValueMinor     int64
	Currency       string
	ValidDays      int
	Status         RedemptionStatus
	HoldID         string
	CouponID       string
	CancelReason   string
	CreatedAt      time.Time
	// UpdatedAt is when the status last changed: the time of its completion or
	// cancellation once it has one.
	UpdatedAt time.Time
	// CouponExpiresAt is set once the redemption is completed.
	CouponExpiresAt time.Time
	// SealedCode is the coupon's code encrypted under the service's key, kept for a
	// retry of a call whose answer was lost; nil once the retry window has passed.
	SealedCode []byte
	// GoodwillCaseID is the feedback case whose goodwill this redemption is: a coupon
	// given free (Points 0, no hold); "" for points spent.
	GoodwillCaseID string
	GoodwillReason string
}

// Goodwill reports whether r is a coupon given free as goodwill.
func (r Redemption) Goodwill() bool { return r.GoodwillCaseID != "" }

// RedeemRequestHash fingerprints what a Redeem call asks for, to tell a retry (same key,
// same request) from a reused key. The ids are UUIDs, compared case-insensitively as
// Postgres does.
func RedeemRequestHash(memberID, rewardID string) []byte {
	// A separator that cannot occur in either id keeps ("ab","c") and ("a","bc") apart.
	sum := sha256.Sum256([]byte("redeem\x00" + strings.ToLower(memberID) + "\x00" + strings.ToLower(rewardID)))
	return sum[:]
}

// GoodwillRequestHash fingerprints a GrantGoodwillCoupon call; its prefix keeps a key
// of a goodwill grant from ever matching a Redeem's.
func GoodwillRequestHash(memberID, rewardID, caseID string) []byte {
	sum := sha256.Sum256([]byte("goodwill\x00" + strings.ToLower(memberID) + "\x00" + strings.ToLower(rewardID) + "\x00" + caseID))
	return sum[:]
}

// HoldReference is how the ledger's hold names the redemption it is for; also the
// idempotency key of PlaceHold, so that a resumed redemption finds its hold again.
func HoldReference(redemptionID string) string { return "redemption:" + redemptionID }
