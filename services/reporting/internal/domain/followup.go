package domain

import (
	"cmp"
	"slices"
	"time"
)

// FollowUpCounts are what the read model sums of a group of cases; the store computes
// them, the shares and means below are taken here.
type FollowUpCounts struct {
	// Opened cases, and of them the resolved, open (neither resolved nor merged), open
	// past their due time at the time asked, and merged ones.
	Opened, Resolved, Open, Overdue, Merged int64
	// Contacted cases, of them those with a first-contact due time, and of those the ones
	// contacted by it.
	Contacted, ContactedWithDue, ContactedInTime int64
	// ReachedLevel[i] counts the cases escalated to level i+1 or higher: each level happens
	// at most once per case, in order, so these are the escalations of each level.
	ReachedLevel [3]int64
	Reminded     int64
	// Reopened cases, and the reopenings in all.
	Reopened, Reopens int64
	// FollowUps is the cases with a follow-up answer (each case's latest); of them the
	// answers to "solved", the "yes", and the satisfied answers.
	FollowUps, SolvedAnswered, SolvedYes, Satisfied int64
	// FollowUpCSAT sums the follow-up answers on the CSAT scale.
	FollowUpCSAT   ScoreCounts
	GoodwillPoints int64
	// GoodwillCoupons counts the cases a goodwill coupon was issued for.
	GoodwillCoupons int64
	// Wall time from opening to the first contact and to the resolution, over the cases
	// that have one (zero with none).
	MedianFirstContact, P90FirstContact time.Duration
	MedianResolution, P90Resolution     time.Duration
}

// share is n over of, from 0 to 1; 0 when of is 0.
func share(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// FirstContactInTimeShare is the share of the contacted cases with a due time that were
// contacted by it.
func (c FollowUpCounts) FirstContactInTimeShare() float64 {
	return share(c.ContactedInTime, c.ContactedWithDue)
}

// Escalated is the cases escalated at all (level 1 comes first).
func (c FollowUpCounts) Escalated() int64 { return c.ReachedLevel[0] }

// SolvedShare is the "yes" answers over the answers to "Is your problem solved?".
func (c FollowUpCounts) SolvedShare() float64 { return share(c.SolvedYes, c.SolvedAnswered) }

// SatisfiedShare is the satisfied follow-up answers over all follow-up answers.
func (c FollowUpCounts) SatisfiedShare() float64 { return share(c.Satisfied, c.FollowUps) }

// FollowUpGroup is the counts of one team's cases.
type FollowUpGroup struct {
	Team string
	FollowUpCounts
}

// FollowUpReport is the loop's figures of the cases opened in a period, overall and by
// team.
type FollowUpReport struct {
	Period Period
	// the filters asked for; empty for all.
	Team, StoreID string
	Overall       FollowUpCounts
	// ByTeam by team name.
	ByTeam []FollowUpGroup
}

// NewFollowUpReport orders the teams by name.
func NewFollowUpReport(p Period, team, storeID string, overall FollowUpCounts, byTeam []FollowUpGroup) FollowUpReport {
	byTeam = slices.Clone(byTeam)
	slices.SortFunc(byTeam, func(a, b FollowUpGroup) int { return cmp.Compare(a.Team, b.Team) })
	return FollowUpReport{Period: p, Team: team, StoreID: storeID, Overall: overall, ByTeam: byTeam}
}

// Bounds is the instants of the period's days: from its first midnight (included)
// to the midnight after its last day (excluded).
func (p Period) Bounds() (from, until time.Time) { return p.From, p.To.AddDate(0, 0, 1) }
