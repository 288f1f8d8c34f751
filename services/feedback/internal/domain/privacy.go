package domain

import "time"

// MemberData is everything the service holds about one member: the cases of their
// responses and, once they were erased, when. An erased member's cases are anonymised
// and so no longer theirs: they stay, countable, without anything that names the member.
type MemberData struct {
	MemberID string
	Cases    []Case
	// ErasedAt is when the member's erasure reached the service; zero if it has not.
	ErasedAt time.Time
	// Copy is what routing keeps of the member from the ledger's events; nil if nothing.
	Copy *MemberCopy
	// Goodwill is what the member's cases granted them, oldest first.
	Goodwill []MemberGoodwill
}

// MemberGoodwill is a goodwill grant as its member reads it: points, a coupon reward
// (its outcome, never its code), or both.
type MemberGoodwill struct {
	CaseID    string
	Points    int64
	Reason    string
	GrantedAt time.Time
	// Reward is the coupon reward's outcome; RewardID "" for points only.
	Reward GoodwillReward
}

// MemberCopy is what the service keeps of a member: their tier and locale (routing),
// their name, email and phone and the points it heard of (the customer on a case).
type MemberCopy struct {
	Tier, Locale              string
	UpdatedAt                 time.Time
	DisplayName, Email, Phone string
	Points                    int64
}

// Anonymise removes from c what could identify its member: the member id, their comment
// and the agent's note (free text that may quote them). What a case counts for (kind,
// team, score, class, store, touchpoint, times, outcome) stays.
func (c *Case) Anonymise(at time.Time) {
	c.MemberID = ""
	c.Comment = ""
	c.ResolutionNote = ""
	c.AnonymisedAt = at
}

// Anonymise removes from r what could identify its member, so that nothing (a routing
// rule included) sees an erased member's personal data.
func (r *Response) Anonymise() {
	r.MemberID = ""
	r.Comment = ""
}
