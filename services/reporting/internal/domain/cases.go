package domain

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// CaseChange is what one feedback event tells about a follow-up case. Zero fields are
// unknown to that event. Events of one case come from two consumers and may arrive in any
// order: every field merges so that the order does not matter (MergeCaseChanges, and the
// store's upsert alike).
type CaseChange struct {
	ID         string
	Kind       string
	Team       string
	Touchpoint string
	StoreID    string
	Outcome    string
	OpenedAt   time.Time
	// DueAt and FirstContactDueAt only move later (a wait ends): the latest wins.
	DueAt             time.Time
	FirstContactDueAt time.Time
	// ResolvedAt is the latest resolution, kept only while it is after ReopenedAt, the
	// latest reopening: a reopened case is open until it is resolved again.
	ResolvedAt time.Time
	ReopenedAt time.Time
	// Reopens adds up: one per reopening event.
	Reopens int64
	// FirstContactAt is the earliest contact.
	FirstContactAt time.Time
	// MergedAt: the case was closed as a duplicate; it is then neither open nor resolved.
	MergedAt time.Time
	// WaitingAt is the latest start of a wait for the customer, ResumedAt its latest end:
	// the case waits while WaitingAt is after both ResumedAt and ReopenedAt, and its SLA
	// clocks are paused then (a waiting case is not overdue).
	WaitingAt time.Time
	ResumedAt time.Time
	// EscalationLevel is the highest level reached (1-3).
	EscalationLevel int
	Reminded        bool
	// FollowUp is the customer's latest answer to the follow-up survey.
	FollowUp FollowUpAnswer
	// GoodwillPoints granted (once per case: the highest known), and whether a goodwill
	// coupon was issued.
	GoodwillPoints int64
	GoodwillCoupon bool
}

// FollowUpAnswer is the customer's answer to a case's follow-up survey; a zero At is
// none.
type FollowUpAnswer struct {
	At        time.Time
	Kind      ScoreKind
	Score     int
	Satisfied bool
	// Solved is the answer to "Is your problem solved?": "yes", "no" or "" (not asked).
	Solved string
}

// Outcomes of a resolution that reached the customer: a case resolved with one of them and
// no contact recorded before counts as contacted at its resolution. An unreachable
// customer, or a case that needed no action, was not contacted.
var contactOutcomes = map[string]bool{
	"CONTACTED_RESOLVED": true, "CONTACTED_UNRESOLVED": true, "REFERRAL_GIVEN": true, "REFERRAL_DECLINED": true,
}

// CaseOpened checks the facts of an opened case.
func CaseOpened(c CaseChange) (CaseChange, error) { return checkCase(c, "opened", c.OpenedAt) }

// CaseResolved checks the facts of a resolved case. A resolution whose outcome reached
// the customer is a contact too (FirstContactAt): the earliest contact wins, so a contact
// recorded before stays the first.
func CaseResolved(c CaseChange) (CaseChange, error) {
	if contactOutcomes[c.Outcome] {
		c.FirstContactAt = c.ResolvedAt
	}
	return checkCase(c, "resolved", c.ResolvedAt)
}

// CaseContacted checks a contact with the customer.
func CaseContacted(c CaseChange) (CaseChange, error) {
	return checkCase(c, "contacted", c.FirstContactAt)
}

// CaseReopened checks a reopening: it counts once, and the case is open again unless a
// later resolution is known.
func CaseReopened(c CaseChange) (CaseChange, error) {
	c.Reopens = 1
	return checkCase(c, "reopened", c.ReopenedAt)
}

// CaseWaiting checks the start of a wait for the customer.
func CaseWaiting(c CaseChange) (CaseChange, error) { return checkCase(c, "waiting", c.WaitingAt) }

// CaseResumed checks the end of a wait: the due times it carries are moved by the pause.
func CaseResumed(c CaseChange) (CaseChange, error) { return checkCase(c, "resumed", c.ResumedAt) }

// Waiting reports whether the case waits for the customer.
func (m CaseChange) Waiting() bool {
	return m.WaitingAt.After(m.ResumedAt) && m.WaitingAt.After(m.ReopenedAt)
}

// CaseMerged checks a case closed as a duplicate.
func CaseMerged(c CaseChange) (CaseChange, error) { return checkCase(c, "merged", c.MergedAt) }

// CaseEscalated checks an escalation at level 1 to 3, at time at.
func CaseEscalated(c CaseChange, at time.Time) (CaseChange, error) {
	if c.EscalationLevel < 1 || c.EscalationLevel > 3 {
		return CaseChange{}, fmt.Errorf("%w: case %s escalated to level %d", ErrInvalidEvent, c.ID, c.EscalationLevel)
	}
	return checkCase(c, "escalated", at)
}

// CaseReminded checks a reminder sent at at.
func CaseReminded(c CaseChange, at time.Time) (CaseChange, error) {
	c.Reminded = true
	return checkCase(c, "reminded", at)
}

// CaseFollowUp checks a follow-up survey answer: its score must fit its kind's scale.
func CaseFollowUp(c CaseChange) (CaseChange, error) {
	a := c.FollowUp
	if lo, hi := a.Kind.Scale(); a.Score < lo || a.Score > hi {
		return CaseChange{}, fmt.Errorf("%w: case %s follow-up score %d outside %s's %d-%d", ErrInvalidEvent, c.ID, a.Score, a.Kind, lo, hi)
	}
	if a.Solved != "" && a.Solved != "yes" && a.Solved != "no" {
		return CaseChange{}, fmt.Errorf("%w: case %s follow-up solved %q", ErrInvalidEvent, c.ID, a.Solved)
	}
	return checkCase(c, "follow-up", a.At)
}

// CaseGoodwill checks goodwill granted (points) or a goodwill coupon issued, at at.
func CaseGoodwill(c CaseChange, at time.Time) (CaseChange, error) {
	if c.GoodwillPoints < 0 {
		return CaseChange{}, fmt.Errorf("%w: case %s granted %d goodwill points", ErrInvalidEvent, c.ID, c.GoodwillPoints)
	}
	return checkCase(c, "goodwill", at)
}

// checkCase refuses a change that names no case or lacks the time of what happened.
func checkCase(c CaseChange, happened string, at time.Time) (CaseChange, error) {
	if c.ID == "" {
		return CaseChange{}, fmt.Errorf("%w: case %s without case_id", ErrInvalidEvent, happened)
	}
	if at.IsZero() {
		return CaseChange{}, fmt.Errorf("%w: case %s %s without %s_at", ErrInvalidEvent, c.ID, happened, happened)
	}
	return c, nil
}

// MergeCaseChanges folds a batch into one change per case, in id order (so that writers
// lock rows in one order). Fields merge as CaseChange says, whatever the events' order;
// the descriptive ones (kind, team, store, outcome) are the later event's when known.
// One row per case lets the batch be written with a single upsert.
func MergeCaseChanges(changes []CaseChange) []CaseChange {
	idx := map[string]int{}
	var out []CaseChange
	for _, c := range changes {
		i, ok := idx[c.ID]
		if !ok {
			idx[c.ID] = len(out)
			out = append(out, c.settled())
			continue
		}
		out[i] = out[i].merge(c)
	}
	slices.SortFunc(out, func(a, b CaseChange) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// merge is what m and a later event's c say together.
func (m CaseChange) merge(c CaseChange) CaseChange {
	m.Kind = cmp.Or(c.Kind, m.Kind)
	m.Team = cmp.Or(c.Team, m.Team)
	m.Touchpoint = cmp.Or(c.Touchpoint, m.Touchpoint)
	m.StoreID = cmp.Or(c.StoreID, m.StoreID)
	m.Outcome = cmp.Or(c.Outcome, m.Outcome)
	m.OpenedAt = laterKnown(m.OpenedAt, c.OpenedAt)
	m.DueAt = latest(m.DueAt, c.DueAt)
	m.FirstContactDueAt = latest(m.FirstContactDueAt, c.FirstContactDueAt)
	m.ResolvedAt = latest(m.ResolvedAt, c.ResolvedAt)
	m.ReopenedAt = latest(m.ReopenedAt, c.ReopenedAt)
	m.Reopens += c.Reopens
	m.FirstContactAt = earliest(m.FirstContactAt, c.FirstContactAt)
	m.MergedAt = earliest(m.MergedAt, c.MergedAt)
	m.WaitingAt = latest(m.WaitingAt, c.WaitingAt)
	m.ResumedAt = latest(m.ResumedAt, c.ResumedAt)
	m.EscalationLevel = max(m.EscalationLevel, c.EscalationLevel)
	m.Reminded = m.Reminded || c.Reminded
	if c.FollowUp.At.After(m.FollowUp.At) {
		m.FollowUp = c.FollowUp
	}
	m.GoodwillPoints = max(m.GoodwillPoints, c.GoodwillPoints)
	m.GoodwillCoupon = m.GoodwillCoupon || c.GoodwillCoupon
	return m.settled()
}

// settled drops a resolution that a later reopening undid.
func (m CaseChange) settled() CaseChange {
	if !m.ReopenedAt.IsZero() && !m.ResolvedAt.After(m.ReopenedAt) {
		m.ResolvedAt = time.Time{}
	}
	return m
}

func laterKnown(old, next time.Time) time.Time {
	if next.IsZero() {
		return old
	}
	return next
}

// latest and earliest pick among known times; a zero time is unknown.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// CaseStats are the follow-up figures.
type CaseStats struct {
	Open     int64
	Resolved int64
	// Overdue counts open cases past their due time.
	Overdue int64
	// MedianFollowUp is the median time from opening to resolution; valid only when
	// Resolved > 0.
	MedianFollowUp time.Duration
}
