package domain

import (
	"cmp"
	"slices"
	"time"
)

// Reasons of the moves lots make.
const (
	// ReasonMaturation: pending points whose return window ended became available.
	ReasonMaturation Reason = "maturation"
	// ReasonDebtRepayment: points newly available went to pay back a member's debt.
	ReasonDebtRepayment Reason = "debt_repayment"
)

// Kinds of the moves lots make.
const (
	KindMature Kind = "mature" // pending → member
	KindDebt   Kind = "debt"   // programme debts → member debt (a return after the points were spent)
)

// AccountDebts is the programme's side of members' debts: minus what members owe.
const AccountDebts = "program:debts"

// DebtAccount is what the member owes the programme: points a return took back after
// they were spent. Its stored balance is never negative, like every member account.
func DebtAccount(memberID string) string { return memberPrefix + memberID + ":debt" }

// LotPolicy is the programme's rules for lots: how long a purchase's points stay pending,
// when points expire, and how long before that the member is told.
type LotPolicy struct {
	// ReturnWindow is how long a purchase's points stay pending after the purchase; 0
	// credits them straight to the available balance.
	ReturnWindow time.Duration
	// Expiry is the programme's default; a credit's part may override it.
	Expiry ExpiryPolicy
	// Location is where ends of quarters and years fall.
	Location *time.Location
	// Notice is how long before a lot expires the member is told.
	Notice time.Duration
	// DebtRepeatWindow: a member with a second debt within it is flagged.
	DebtRepeatWindow time.Duration
}

// Maturity is when a purchase made at occurredAt and credited at now becomes available,
// and whether it is pending until then: not when the window is off or already over (a
// till that uploads late).
func (p LotPolicy) Maturity(occurredAt, now time.Time) (maturesAt time.Time, pending bool) {
	if p.ReturnWindow <= 0 {
		return time.Time{}, false
	}
	maturesAt = occurredAt.Add(p.ReturnWindow)
	if !maturesAt.After(now) {
		return time.Time{}, false
	}
	return maturesAt, true
}

// LotPart is a share of a credit with the expiry it earns under: Override marks a rule's
// own expiry, otherwise the programme's default applies.
type LotPart struct {
	Points   int64
	Expiry   ExpiryPolicy
	Override bool
}

// Lot is points of one credit that expire together. Pending lots are still in their
// return window (on the pending account); the others are available. Remaining is what
// is neither spent, taken back nor expired.
type Lot struct {
	ID        string
	MemberID  string
	CreditTx  string // the credit's transaction
	Reference string
	Points    int64
	Remaining int64
	Pending   bool
	EarnedAt  time.Time
	MaturesAt time.Time // zero when never pending
	ExpiresAt time.Time // zero when it never expires
	Expired   int64     // points it lost to expiry
}

// Expires reports whether the lot expires at all.
func (l Lot) Expires() bool { return !l.ExpiresAt.IsZero() }

// ExpiredAt reports whether the lot's expiry has come at now.
func (l Lot) ExpiredAt(now time.Time) bool { return l.Expires() && !now.Before(l.ExpiresAt) }

// NewLots splits a credit of a member, earned at earnedAt, into one lot per distinct
// expiry. Parts with no points are left out; nil parts (or parts that add up to less)
// leave the rest under the programme's default. newID names each lot.
func (p LotPolicy) NewLots(memberID, creditTx, reference string, points int64, parts []LotPart,
	earnedAt, maturesAt time.Time, pending bool, newID func() string) []Lot {
	byExpiry := map[time.Time]int64{}
	var order []time.Time
	add := func(at time.Time, n int64) {
		if n <= 0 {
			return
		}
		if _, ok := byExpiry[at]; !ok {
			order = append(order, at)
		}
		byExpiry[at] += n
	}
	left := points
	for _, part := range parts {
		n := min(part.Points, left)
		policy := p.Expiry
		if part.Override {
			policy = part.Expiry
		}
		add(policy.ExpiresAt(earnedAt, p.Location), n)
		left -= max(n, 0)
	}
	add(p.Expiry.ExpiresAt(earnedAt, p.Location), left)
	lots := make([]Lot, 0, len(order))
	for _, at := range order {
		lots = append(lots, Lot{
			ID: newID(), MemberID: memberID, CreditTx: creditTx, Reference: reference,
			Points: byExpiry[at], Remaining: byExpiry[at], Pending: pending,
			EarnedAt: earnedAt, MaturesAt: maturesAt, ExpiresAt: at,
		})
	}
	return lots
}

// SpendOrder sorts lots in the order spending burns them: the soonest to expire first
// (never-expiring last), then the oldest. Lots of preferCredit (a returned purchase's own
// credit) come before all others: a return takes back what the purchase gave.
func SpendOrder(lots []Lot, preferCredit string) {
	slices.SortStableFunc(lots, func(a, b Lot) int {
		ap, bp := preferCredit != "" && a.CreditTx == preferCredit, preferCredit != "" && b.CreditTx == preferCredit
		if ap != bp {
			if ap {
				return -1
			}
			return 1
		}
		if a.Expires() != b.Expires() {
			if a.Expires() {
				return -1
			}
			return 1
		}
		return cmp.Or(a.ExpiresAt.Compare(b.ExpiresAt), a.EarnedAt.Compare(b.EarnedAt), cmp.Compare(a.ID, b.ID))
	})
}

// LotBurn is points taken from one lot.
type LotBurn struct {
	LotID  string
	Points int64
}

// Burn takes points from lots in their order (see SpendOrder), changing their Remaining,
// and returns what it took from each and what the lots could not cover.
func Burn(lots []Lot, points int64) (burns []LotBurn, short int64) {
	for i := range lots {
		if points <= 0 {
			break
		}
		n := min(lots[i].Remaining, points)
		if n <= 0 {
			continue
		}
		lots[i].Remaining -= n
		points -= n
		burns = append(burns, LotBurn{LotID: lots[i].ID, Points: n})
	}
	return burns, max(points, 0)
}

// ReturnSplit is where the points a return takes back come from.
type ReturnSplit struct {
	FromPending   int64 // the purchase's points still in their return window
	FromAvailable int64 // what the member still has
	Debt          int64 // what the member already spent, and now owes
}

// SplitReturn decides where a return's points come from: first the purchase's points
// still pending, then the member's available balance; the rest the member already spent
// is a debt. The available balance never goes below zero.
func SplitReturn(points, pendingOfPurchase, available int64) ReturnSplit {
	if points <= 0 {
		return ReturnSplit{}
	}
	var s ReturnSplit
	s.FromPending = min(points, max(pendingOfPurchase, 0))
	s.FromAvailable, s.Debt = SplitDebit(points-s.FromPending, available)
	return s
}

// Repayment is what of newly available points goes to pay back a debt: all of them up
// to the debt.
func Repayment(credited, debt int64) int64 {
	if credited <= 0 || debt <= 0 {
		return 0
	}
	return min(credited, debt)
}

// RepeatDebtor reports whether a member with debtsInWindow debts (this one included)
// within the policy's window is flagged.
func RepeatDebtor(debtsInWindow int) bool { return debtsInWindow >= 2 }

// MatureTx is the transaction that makes a credit's pending points available.
func MatureTx(id, creditTx, memberID, reference string, at time.Time, points int64) Transaction {
	return Transfer(id, "mature:"+creditTx, KindMature, ReasonMaturation, reference, memberID, at,
		PendingAccount(memberID), AvailableAccount(memberID), points)
}

// RepayTx pays back points of a member's debt from the available balance: the points go
// back to the programme and the debt shrinks by as much. key names what made the points
// available (a credit, a maturation).
func RepayTx(id, key, memberID, reference string, at time.Time, points int64) Transaction {
	return Transaction{
		ID: id, IdempotencyKey: "repay:" + key, Kind: KindDebit, Reason: ReasonDebtRepayment, Reference: reference,
		MemberID: memberID, CreatedAt: at,
		Postings: []Posting{
			{Source: AvailableAccount(memberID), Destination: AccountIssued, Amount: points},
			{Source: DebtAccount(memberID), Destination: AccountDebts, Amount: points},
		},
	}
}

// DebtTx records what a member owes after a return took back points they had spent.
func DebtTx(id, returnKey, memberID, reference string, at time.Time, points int64) Transaction {
	return Transfer(id, "debt:"+returnKey, KindDebt, ReasonReturn, reference, memberID, at,
		AccountDebts, DebtAccount(memberID), points)
}

// ExpireTx is the transaction that expires what is left of a lot, once per lot.
func ExpireTx(id string, l Lot, at time.Time) Transaction {
	return Transfer(id, "expire:"+l.ID, KindDebit, ReasonExpiry, l.Reference, l.MemberID, at,
		AvailableAccount(l.MemberID), AccountExpired, l.Remaining)
}

// VoidTx is the transaction that gives a voided or expired hold's points back: what came
// from lots past their expiry goes to program:expired instead of the member.
func VoidTx(h Hold, id string, expired int64) Transaction {
	t := h.CloseTx(id)
	if expired <= 0 || h.Status == StatusCaptured {
		return t
	}
	expired = min(expired, h.Points)
	t.Postings = t.Postings[:0]
	if back := h.Points - expired; back > 0 {
		t.Postings = append(t.Postings, Posting{Source: HoldAccount(h.MemberID), Destination: AvailableAccount(h.MemberID), Amount: back})
	}
	t.Postings = append(t.Postings, Posting{Source: HoldAccount(h.MemberID), Destination: AccountExpired, Amount: expired})
	return t
}
