package domain

import (
	"errors"
	"strconv"
	"time"
)

// Errors of claims.
var (
	// ErrPurchaseNotFound: no recorded purchase has the receipt's store, transaction id
	// and total.
	ErrPurchaseNotFound = errors.New("no purchase with this store, transaction id and total")
	// ErrAlreadyClaimed: the purchase was credited to a member already, when it was
	// recorded or by an earlier claim.
	ErrAlreadyClaimed = errors.New("the purchase was credited to a member already")
	// ErrClaimWindowClosed: the purchase is older than the claim window.
	ErrClaimWindowClosed = errors.New("the purchase is older than the claim window")
)

// ClaimRequest is a member's claim of a purchase recorded without them.
type ClaimRequest struct {
	// IdempotencyKey is the caller's key, scoped to the caller.
	IdempotencyKey string
	MemberID       string
	Key            PurchaseKey
	TotalMinor     int64
	Channel        Channel
}

// Hash identifies the request for idempotency.
func (r ClaimRequest) Hash() string {
	return RequestHash("claim", r.MemberID, r.Key.StoreID, r.Key.TransactionID, strconv.FormatInt(r.TotalMinor, 10), string(r.Channel))
}

// Claim is a purchase credited to a member after the fact.
type Claim struct {
	Key        PurchaseKey
	MemberID   string
	Points     int64
	LedgerTxID string
	Channel    Channel
	Actor      Actor
	ClaimedAt  time.Time
}

// CheckClaim says whether p may be claimed at now with a receipt total of total, within
// window after the purchase. A purchase credited to a member already is
// ErrAlreadyClaimed; a total that differs is ErrPurchaseNotFound (the claimant does not
// hold the receipt); one older than the window ErrClaimWindowClosed.
func CheckClaim(p Purchase, total int64, now time.Time, window time.Duration) error {
	switch {
	case p.TotalMinor != total:
		return ErrPurchaseNotFound
	case p.MemberID != "":
		return ErrAlreadyClaimed
	case now.After(p.OccurredAt.Add(window)):
		return ErrClaimWindowClosed
	}
	return nil
}
