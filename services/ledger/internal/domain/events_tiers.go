package domain

import "time"

// MemberTierChanged: a member moved to another tier, for Reason, as of EffectiveAt.
type MemberTierChanged struct {
	MemberID    string
	From, To    string
	Reason      TierChangeReason
	EffectiveAt time.Time
}

func (MemberTierChanged) isEvent() {}
