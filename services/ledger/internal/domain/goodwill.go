package domain

import "time"

// AccountGoodwill is where goodwill points come from: its balance is minus the goodwill
// ever granted.
const AccountGoodwill = "program:goodwill"

// ReasonGoodwill: points granted as goodwill when a feedback case was resolved.
const ReasonGoodwill Reason = "goodwill"

// GoodwillGrant is goodwill points the feedback service granted to a member when one of
// their cases was resolved. Its id is the case's: a case grants at most once.
type GoodwillGrant struct {
	GrantID   string
	CaseID    string
	MemberRef string
	Points    int64
	GrantedBy string
	Reason    string
	GrantedAt time.Time
}

// IdempotencyKey is the key of the grant's booking.
func (g GoodwillGrant) IdempotencyKey() string { return "goodwill:" + g.CaseID }

// GoodwillOutcome is what became of a grant.
type GoodwillOutcome string

const (
	GoodwillBooked GoodwillOutcome = "booked"
	// GoodwillBudgetExhausted: the month's goodwill budget would have been exceeded.
	GoodwillBudgetExhausted GoodwillOutcome = "budget_exhausted"
	// GoodwillMemberGone: the member is unknown or erased; nothing is booked.
	GoodwillMemberGone GoodwillOutcome = "member_gone"
)

// GoodwillBudget is the goodwill points the programme grants per calendar month (UTC):
// Limit 0 is no limit. Used is what grants booked this month so far.
type GoodwillBudget struct {
	Month time.Time // the first day of the month, 00:00 UTC
	Limit int64
	Used  int64
}

// Take books points from the budget when it allows them, and reports whether it did.
func (b *GoodwillBudget) Take(points int64) bool {
	if b.Limit > 0 && b.Used+points > b.Limit {
		return false
	}
	b.Used += points
	return true
}

// GoodwillRefused: a grant was not booked because the month's budget would have been
// exceeded.
type GoodwillRefused struct {
	Grant  GoodwillGrant
	Budget GoodwillBudget // as it was before the grant
	At     time.Time
}

func (GoodwillRefused) isEvent() {}
