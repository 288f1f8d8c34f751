package domain

import "time"

// Event is a change the rewards service announces to the other services. The
// application decides which events a change causes; the outbox publishes them after
// the change commits.
type Event interface {
	isEvent()
}

// RedemptionCompleted: the coupon is issued; the ledger captures the redemption's hold.
type RedemptionCompleted struct {
	RedemptionID, MemberID, RewardID, HoldID string
	Points                                   int64
	CompletedAt                              time.Time
}

// RedemptionCancelled: no coupon; the ledger voids the redemption's hold, if any.
type RedemptionCancelled struct {
	RedemptionID, MemberID, RewardID, HoldID string
	Points                                   int64
	Reason                                   string
	CancelledAt                              time.Time
}

// CouponIssued carries everything about a new coupon but its code.
type CouponIssued struct {
	CouponID, RedemptionID, MemberID, RewardID string
	ValueMinor                                 int64
	Currency                                   string
	ExpiresAt                                  time.Time
	// GoodwillCaseID: the coupon was given free as goodwill on this feedback case.
	GoodwillCaseID string
}

// CouponRedeemed: a coupon was used at a till.
type CouponRedeemed struct {
	CouponID, MemberID, RewardID, StoreID, TerminalID string
	ValueMinor                                        int64
	Currency                                          string
	RedeemedAt                                        time.Time
}

func (RedemptionCompleted) isEvent() {}
func (RedemptionCancelled) isEvent() {}
func (CouponIssued) isEvent()        {}
func (CouponRedeemed) isEvent()      {}

// Completed is the event of r, a redemption just completed.
func (r Redemption) Completed() RedemptionCompleted {
	return RedemptionCompleted{
		RedemptionID: r.ID, MemberID: r.MemberID, RewardID: r.RewardID, HoldID: r.HoldID,
		Points: r.Points, CompletedAt: r.UpdatedAt,
	}
}

// Cancelled is the event of r, a redemption just cancelled.
func (r Redemption) Cancelled() RedemptionCancelled {
	return RedemptionCancelled{
		RedemptionID: r.ID, MemberID: r.MemberID, RewardID: r.RewardID, HoldID: r.HoldID,
		Points: r.Points, Reason: r.CancelReason, CancelledAt: r.UpdatedAt,
	}
}

// CouponIssued is the event of the coupon that completed r.
func (r Redemption) CouponIssued() CouponIssued {
	return CouponIssued{
		CouponID: r.CouponID, RedemptionID: r.ID, MemberID: r.MemberID, RewardID: r.RewardID,
		ValueMinor: r.ValueMinor, Currency: r.Currency, ExpiresAt: r.CouponExpiresAt,
		GoodwillCaseID: r.GoodwillCaseID,
	}
}

// Redeemed is the event of c, a coupon just used.
func (c Coupon) Redeemed() CouponRedeemed {
	return CouponRedeemed{
		CouponID: c.ID, MemberID: c.MemberID, RewardID: c.RewardID, StoreID: c.StoreID,
		TerminalID: c.TerminalID, ValueMinor: c.ValueMinor, Currency: c.Currency, RedeemedAt: c.RedeemedAt,
	}
}
