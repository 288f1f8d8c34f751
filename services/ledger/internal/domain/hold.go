package domain

import (
	"strconv"
	"time"
)

// HoldStatus is where a hold is in its life.
type HoldStatus string

const (
	StatusPlaced   HoldStatus = "placed"
	StatusCaptured HoldStatus = "captured"
	StatusVoided   HoldStatus = "voided"
	StatusExpired  HoldStatus = "expired"
)

// VoidReasonExpired is the void reason of a hold nobody captured in time.
const VoidReasonExpired = "expired"

// Hold reserves a member's points for a redemption: placed, then captured (redeemed) or
// voided (given back), or expired when nobody captured it in time.
type Hold struct {
	ID         string
	MemberID   string
	Points     int64
	Reference  string
	Status     HoldStatus
	ExpiresAt  time.Time
	CreatedAt  time.Time
	ClosedAt   time.Time // when it was captured, voided or expired
	VoidReason string
	// RequestHash identifies the PlaceHold request that created it (idempotency).
	RequestHash string
}

// HoldRequest asks to reserve points.
type HoldRequest struct {
	IdempotencyKey string
	MemberID       string
	Points         int64
	Reference      string
	TTL            time.Duration
}

// Hash identifies the request for idempotency.
func (r HoldRequest) Hash() string {
	return RequestHash("place_hold", r.MemberID, strconv.FormatInt(r.Points, 10), r.Reference, r.TTL.String())
}

// NewHold returns the hold a request places at now.
func NewHold(id string, r HoldRequest, now time.Time) Hold {
	return Hold{
		ID: id, MemberID: r.MemberID, Points: r.Points, Reference: r.Reference,
		Status: StatusPlaced, CreatedAt: now, ExpiresAt: now.Add(r.TTL), RequestHash: r.Hash(),
	}
}

// Open reports whether the hold can still be captured or voided at now.
func (h Hold) Open(now time.Time) bool {
	return h.Status == StatusPlaced && now.Before(h.ExpiresAt)
}

// Capture redeems the held points. It reports whether anything changed: capturing a
// captured hold is a no-op. A hold that was voided, expired, or outlived its expiry
// (the expirer has not got to it yet) is not open.
func (h *Hold) Capture(now time.Time) (changed bool, err error) {
	switch {
	case h.Status == StatusCaptured:
		return false, nil
	case !h.Open(now):
		return false, ErrHoldNotOpen
	}
	h.Status, h.ClosedAt = StatusCaptured, now
	return true, nil
}

// Void gives the held points back. Voiding a voided or expired hold is a no-op (the points
// are back either way); a captured hold cannot be voided. A placed hold past its expiry
// may still be voided: that is what its expiry would do.
func (h *Hold) Void(now time.Time, reason string) (changed bool, err error) {
	switch h.Status {
	case StatusVoided, StatusExpired:
		return false, nil
	case StatusCaptured:
		return false, ErrHoldNotOpen
	}
	h.Status, h.ClosedAt, h.VoidReason = StatusVoided, now, reason
	return true, nil
}

// Expire gives back the points of a placed hold past its expiry.
func (h *Hold) Expire(now time.Time) (changed bool) {
	if h.Status != StatusPlaced || now.Before(h.ExpiresAt) {
		return false
	}
	h.Status, h.ClosedAt, h.VoidReason = StatusExpired, now, VoidReasonExpired
	return true
}

// PlaceTx is the transaction that places the hold: member → hold.
func (h Hold) PlaceTx(id string) Transaction {
	return Transfer(id, "hold:"+h.ID, KindHold, ReasonNone, h.Reference, h.MemberID, h.CreatedAt,
		AvailableAccount(h.MemberID), HoldAccount(h.MemberID), h.Points)
}

// CloseTx is the transaction that closes the hold: hold → redeemed on capture, hold →
// member on void or expiry.
func (h Hold) CloseTx(id string) Transaction {
	if h.Status == StatusCaptured {
		return Transfer(id, "capture:"+h.ID, KindCapture, ReasonNone, h.Reference, h.MemberID, h.ClosedAt,
			HoldAccount(h.MemberID), AccountRedeemed, h.Points)
	}
	return Transfer(id, "void:"+h.ID, KindVoid, ReasonNone, h.Reference, h.MemberID, h.ClosedAt,
		HoldAccount(h.MemberID), AvailableAccount(h.MemberID), h.Points)
}
