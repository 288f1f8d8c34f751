package domain

import "time"

// Event is something the ledger tells the rest of the system, published through the
// outbox in the transaction that caused it.
type Event interface{ isEvent() }

// MemberEnrolled: a member joined.
type MemberEnrolled struct{ Member Member }

// MemberErased: a member's personal data was erased; every service erases or
// anonymises its copy.
type MemberErased struct {
	MemberID string
	ErasedAt time.Time
}

// PointsCredited: points moved from the programme to a member.
type PointsCredited struct {
	TransactionID string
	MemberID      string
	Points        int64
	Reason        Reason
	Reference     string
	StoreID       string
	OccurredAt    time.Time
}

// PointsDebited: points moved from a member back to the programme. Shortfall is what the
// reason called for that the member no longer had.
type PointsDebited struct {
	TransactionID string
	MemberID      string
	Points        int64
	Shortfall     int64
	Reason        Reason
	Reference     string
	StoreID       string
	OccurredAt    time.Time
}

// HoldPlaced, HoldCaptured and HoldVoided follow a hold's life; HoldVoided also reports an
// expiry (reason "expired").
type (
	HoldPlaced   struct{ Hold Hold }
	HoldCaptured struct{ Hold Hold }
	HoldVoided   struct{ Hold Hold }
)

// PurchaseUnmatched: a purchase named a member the ledger does not know.
type PurchaseUnmatched struct{ Purchase Purchase }

func (MemberEnrolled) isEvent()    {}
func (MemberErased) isEvent()      {}
func (PointsCredited) isEvent()    {}
func (PointsDebited) isEvent()     {}
func (HoldPlaced) isEvent()        {}
func (HoldCaptured) isEvent()      {}
func (HoldVoided) isEvent()        {}
func (PurchaseUnmatched) isEvent() {}
