package domain

import "time"

// MemberErasure is the ledger's word that a member asked to be forgotten. The rewards
// service keeps the member's redemptions and coupons under the pseudonymous member id,
// so that they stay countable, and forgets what could still identify the member or act
// for them: the sealed coupon codes kept for a retry.
type MemberErasure struct {
	MemberID string
	ErasedAt time.Time
}

// MemberRecords is everything the rewards service holds about one member, for the
// member's data export. Coupon codes are never part of it: only their hash is stored,
// and the sealed copy kept for a retry is said to exist, not shown.
type MemberRecords struct {
	MemberID string
	// At is when the records were read; the coupons' statuses are as of then.
	At time.Time
	// ErasedAt is when the member was erased; zero if they were not.
	ErasedAt    time.Time
	Redemptions []Redemption
	Coupons     []Coupon
}
