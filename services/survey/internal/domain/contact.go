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
	// Attribution and what trigger rules read: the employee who served the member, the
	// sales channel (STORE, WEB or ""), the amount and its currency.
	EmployeeID   string
	SalesChannel string
	AmountMinor  int64
	Currency     string
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

// MaxTouchpointClockSkew is how far in the future a touchpoint reported through the API
// may be dated: a till's clock a little ahead, or local time sent as UTC, is taken; a
// later time (a wrong year) would schedule an invitation that is never due while it
// holds the member's one contact of the interval.
const MaxTouchpointClockSkew = 24 * time.Hour

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

// Outcome is what became of a trigger.
type Outcome string

const (
	// OutcomeScheduled: an invitation was scheduled.
	OutcomeScheduled Outcome = "SCHEDULED"
	// OutcomeNoRule: no active rule matched the touchpoint.
	OutcomeNoRule Outcome = "NO_RULE"
	// OutcomeSampledOut: the member is not in the matching rule's sample.
	OutcomeSampledOut Outcome = "SAMPLED_OUT"
	// OutcomeParked: the member is not known yet; evaluated again on enrolment.
	OutcomeParked Outcome = "PARKED"
	// OutcomeDuplicate: the touchpoint was evaluated before (another event reported it).
	OutcomeDuplicate Outcome = "DUPLICATE"
)

// SuppressedOutcome is the outcome of a trigger the contact policy held back.
func SuppressedOutcome(r SuppressionReason) Outcome { return Outcome("SUPPRESSED_" + string(r)) }

// Suppression is an invitation the contact policy held back, with its reason.
type Suppression struct {
	ID           string
	InvitationID string // "" when none was scheduled yet
	MemberID     string // "" for an erased member
	TriggerID    string
	Touchpoint   Touchpoint
	Key          string
	Reason       SuppressionReason
	At           time.Time
}

// MemberState is what the contact policy knows of a member at trigger time.
type MemberState struct {
	Known, Erased bool
	Consent       bool
	OpenCase      bool
	Locale, Tier  string
	Tags          []string
}

// PolicyAtTrigger applies the contact policy, but for the frequency cap (which the
// database enforces when it reserves the contact): erased never, a returned purchase
// never, no consent, an open case. ok when none holds the invitation back.
func PolicyAtTrigger(m MemberState, returned bool) (SuppressionReason, bool) {
	switch {
	case m.Erased:
		return SuppressedErased, false
	case returned:
		return SuppressedReturned, false
	case !m.Consent:
		return SuppressedNoConsent, false
	case m.OpenCase:
		return SuppressedOpenCase, false
	}
	return "", true
}

// ScheduleInvitation is the invitation a rule schedules for trigger t: due after the
// rule's delay (never before now), open from then until ttl later.
func ScheduleInvitation(id string, r TriggerRule, surveyVersion int, t Trigger, locale string, now time.Time, ttl time.Duration) Invitation {
	inv := NewInvitation(id, r.SurveyID, t, locale, now, ttl)
	inv.Status = StatusScheduled
	inv.DueAt = DueAt(t.OccurredAt, r.Delay, now)
	inv.ExpiresAt = inv.DueAt.Add(ttl).Truncate(time.Second).UTC()
	inv.SurveyVersion = surveyVersion
	inv.TriggerID = r.ID
	inv.Channels = slices.Clone(r.Channels)
	inv.Channel = ChannelNone
	inv.EmployeeID = t.EmployeeID
	inv.SalesChannel = t.SalesChannel
	return inv
}
