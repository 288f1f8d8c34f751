package domain

import (
	"cmp"
	"slices"
	"time"
)

// Trigger is a moment of contact that may earn the member an invitation.
type Trigger struct {
	// EventID is the id of the event that reported the contact.
	EventID string
	// Key identifies the contact itself, whatever event reported it: a purchase re-sent
	// with a new event id has the same key, so it never earns a second invitation.
	Key        string
	MemberID   string
	Touchpoint Touchpoint
	StoreID    string
	OccurredAt time.Time
}

// PurchaseTrigger is the trigger of a purchase, keyed by store and POS transaction (the
// POS contract makes that pair unique).
func PurchaseTrigger(eventID, storeID, transactionID, memberID string, at time.Time) Trigger {
	return Trigger{
		EventID:    eventID,
		Key:        "pos:" + storeID + ":" + transactionID,
		MemberID:   memberID,
		Touchpoint: TouchpointPurchase,
		StoreID:    storeID,
		OccurredAt: at,
	}
}

// ContactTrigger is the trigger of a service call, sales call or web visit, keyed by its
// event.
func ContactTrigger(eventID, memberID string, tp Touchpoint, storeID string, at time.Time) Trigger {
	return Trigger{
		EventID:    eventID,
		Key:        "touchpoint:" + eventID,
		MemberID:   memberID,
		Touchpoint: tp,
		StoreID:    storeID,
		OccurredAt: at,
	}
}

// ContactPolicy limits how often a member is asked: at most one invitation per Interval.
type ContactPolicy struct {
	Interval time.Duration
}

// NotAfter is the latest previous invitation time that still allows a new one at now.
func (p ContactPolicy) NotAfter(now time.Time) time.Time { return now.Add(-p.Interval) }

// LatestPerMember keeps one trigger per member, the most recent (ties go to the greater
// event id, so the choice does not depend on arrival order): a member gets at most one
// invitation per batch anyway, and the freshest experience is the one to ask about.
// The result is ordered by member id.
func LatestPerMember(ts []Trigger) []Trigger {
	best := make(map[string]Trigger, len(ts))
	for _, t := range ts {
		cur, ok := best[t.MemberID]
		if !ok || t.OccurredAt.After(cur.OccurredAt) ||
			(t.OccurredAt.Equal(cur.OccurredAt) && t.EventID > cur.EventID) {
			best[t.MemberID] = t
		}
	}
	out := make([]Trigger, 0, len(best))
	for _, t := range best {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Trigger) int { return cmp.Compare(a.MemberID, b.MemberID) })
	return out
}
