package domain

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// The statuses of a case beyond open and resolved. A case goes
// open → acknowledged → contacted → resolved → closed; it may wait for the customer
// (its SLA clocks paused) from acknowledged or contacted and resume to where it was; a
// resolved or closed case may be reopened.
const (
	StatusAcknowledged Status = "acknowledged"
	StatusContacted    Status = "contacted"
	StatusWaiting      Status = "waiting"
	StatusClosed       Status = "closed"
)

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{StatusOpen, StatusAcknowledged, StatusContacted, StatusWaiting, StatusResolved, StatusClosed}

// Active reports whether a case in s is still being worked (its SLA clocks count).
func (s Status) Active() bool {
	return s == StatusOpen || s == StatusAcknowledged || s == StatusContacted
}

// Done reports whether a case in s needs no more work (resolved or closed).
func (s Status) Done() bool { return s == StatusResolved || s == StatusClosed }

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, k := range Statuses {
		if s == k {
			return true
		}
	}
	return false
}

// ErrIllegalTransition: the case cannot move from its status to the one asked for.
var ErrIllegalTransition = errors.New("illegal case transition")

// TransitionError names the refused move; it wraps ErrIllegalTransition.
type TransitionError struct {
	From   Status
	Action string
	Reason string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s a case that is %s: %s", e.Action, e.From, e.Reason)
}

// Unwrap makes errors.Is(err, ErrIllegalTransition) hold.
func (e *TransitionError) Unwrap() error { return ErrIllegalTransition }

func illegal(from Status, action, reason string) error {
	return &TransitionError{From: from, Action: action, Reason: reason}
}

// BusinessCalendar measures business time (the team's calendar).
type BusinessCalendar interface {
	// AddBusiness returns when d of business time has passed after from.
	AddBusiness(from time.Time, d time.Duration) time.Time
	// BusinessBetween returns the business time in [a, b).
	BusinessBetween(a, b time.Time) time.Duration
}

// SLA is a case's targets, in business time, counted from when the customer answered.
type SLA struct {
	FirstContact time.Duration
	Resolution   time.Duration
}

// Transition is one recorded move of a case (its history).
type Transition struct {
	CaseID string
	From   Status
	To     Status
	// Action names what happened: "open", "acknowledge", "contact", "wait", "resume",
	// "resolve", "close", "reopen", "reassign", "merge", "merged", "escalate", "remind".
	Action string
	By     string
	At     time.Time
	Note   string
}

// Note is a remark an agent adds to a case.
type Note struct {
	ID     int64
	CaseID string
	By     string
	At     time.Time
	Text   string
}

// ApplySLA sets c's targets and due times from cal: both count from when the customer
// answered.
func (c *Case) ApplySLA(sla SLA, cal BusinessCalendar) {
	c.FirstContactSLA = sla.FirstContact
	c.ResolutionSLA = sla.Resolution
	c.FirstContactDueAt = cal.AddBusiness(c.SubmittedAt, sla.FirstContact)
	c.DueAt = cal.AddBusiness(c.SubmittedAt, sla.Resolution)
}

func (c *Case) record(action string, from Status, by string, at time.Time, note string) Transition {
	return Transition{CaseID: c.ID, From: from, To: c.Status, Action: action, By: by, At: at, Note: note}
}

// Acknowledge: an agent took the case on (open → acknowledged).
func (c *Case) Acknowledge(by string, at time.Time) (Transition, error) {
	if c.Status != StatusOpen {
		return Transition{}, illegal(c.Status, "acknowledge", "only an open case is acknowledged")
	}
	from := c.Status
	c.Status = StatusAcknowledged
	c.AcknowledgedAt = at
	return c.record("acknowledge", from, by, at, ""), nil
}

// RecordContact: the customer was contacted (open or acknowledged → contacted); the
// first-contact clock stops.
func (c *Case) RecordContact(by string, at time.Time, note string) (Transition, error) {
	if c.Status != StatusOpen && c.Status != StatusAcknowledged {
		return Transition{}, illegal(c.Status, "record contact on", "only an open or acknowledged case records the first contact")
	}
	from := c.Status
	if c.AcknowledgedAt.IsZero() {
		c.AcknowledgedAt = at
	}
	c.Status = StatusContacted
	c.ContactedAt = at
	return c.record("contact", from, by, at, note), nil
}

// Wait: the case waits for the customer (acknowledged or contacted → waiting); its SLA
// clocks pause until it resumes.
func (c *Case) Wait(by string, at time.Time, note string) (Transition, error) {
	if c.Status != StatusAcknowledged && c.Status != StatusContacted {
		return Transition{}, illegal(c.Status, "wait on", "only an acknowledged or contacted case waits for the customer")
	}
	from := c.Status
	c.WaitingFrom = from
	c.WaitingSince = at
	c.Status = StatusWaiting
	return c.record("wait", from, by, at, note), nil
}

// Resume: the customer answered (waiting → the status before). The due times still ahead
// move by the business time the case waited.
func (c *Case) Resume(cal BusinessCalendar, by string, at time.Time, note string) (Transition, error) {
	if c.Status != StatusWaiting {
		return Transition{}, illegal(c.Status, "resume", "only a waiting case resumes")
	}
	c.endPause(cal, at)
	c.Status = c.WaitingFrom
	if !c.Status.Active() {
		c.Status = StatusAcknowledged
	}
	c.WaitingFrom = ""
	return c.record("resume", StatusWaiting, by, at, note), nil
}

// endPause adds the business time waited since WaitingSince to Paused and to the due
// times not reached yet.
func (c *Case) endPause(cal BusinessCalendar, at time.Time) {
	if c.WaitingSince.IsZero() {
		return
	}
	waited := cal.BusinessBetween(c.WaitingSince, at)
	c.Paused += waited
	if c.ContactedAt.IsZero() && !c.FirstContactDueAt.IsZero() {
		c.FirstContactDueAt = cal.AddBusiness(c.FirstContactDueAt, waited)
	}
	if !c.DueAt.IsZero() {
		c.DueAt = cal.AddBusiness(c.DueAt, waited)
	}
	c.WaitingSince = time.Time{}
}

// ResolveWith resolves c (open, acknowledged, contacted or waiting → resolved) with an
// outcome that fits its kind and a root-cause category. A waiting case's pause ends.
func (c *Case) ResolveWith(cal BusinessCalendar, outcome Outcome, rootCause, note, by string, at time.Time) (Transition, error) {
	if err := CheckOutcome(c.Kind, outcome); err != nil {
		return Transition{}, err
	}
	if c.Status.Done() {
		return Transition{}, ErrAlreadyResolved
	}
	from := c.Status
	if from == StatusWaiting {
		c.endPause(cal, at)
		c.WaitingFrom = ""
	}
	c.Status = StatusResolved
	c.Outcome = outcome
	c.RootCause = rootCause
	c.ResolutionNote = note
	c.ResolvedBy = by
	c.ResolvedAt = at
	return c.record("resolve", from, by, at, note), nil
}

// Close: the resolution stands (resolved → closed).
func (c *Case) Close(by string, at time.Time, note string) (Transition, error) {
	if c.Status != StatusResolved {
		return Transition{}, illegal(c.Status, "close", "only a resolved case is closed")
	}
	c.Status = StatusClosed
	c.ClosedAt = at
	return c.record("close", StatusResolved, by, at, note), nil
}

// Reopen: the work was not done (resolved or closed → open). The resolution is kept in
// the history; the case is worked again with its due times and escalation level as they
// were. A case merged into another is not reopened.
func (c *Case) Reopen(by string, at time.Time, note string) (Transition, error) {
	if !c.Status.Done() {
		return Transition{}, illegal(c.Status, "reopen", "only a resolved or closed case is reopened")
	}
	if c.MergedInto != "" {
		return Transition{}, illegal(c.Status, "reopen", "the case was merged into "+c.MergedInto)
	}
	from := c.Status
	c.Status = StatusOpen
	c.Outcome, c.RootCause, c.ResolutionNote, c.ResolvedBy = "", "", "", ""
	c.ResolvedAt, c.ClosedAt = time.Time{}, time.Time{}
	return c.record("reopen", from, by, at, note), nil
}

// Reassign hands the case to staff member to ("" = unassigned); the status is unchanged.
func (c *Case) Reassign(to, by string, at time.Time, note string) (Transition, error) {
	if c.Status.Done() {
		return Transition{}, illegal(c.Status, "reassign", "a resolved or closed case is not reassigned")
	}
	if to == c.Assignee {
		return Transition{}, illegal(c.Status, "reassign", "the case is already assigned to "+to)
	}
	t := c.record("reassign", c.Status, by, at, note)
	t.Note = fmt.Sprintf("%s → %s", orNone(c.Assignee), orNone(to))
	if note != "" {
		t.Note += ": " + note
	}
	c.Assignee = to
	return t, nil
}

func orNone(s string) string {
	if s == "" {
		return "(unassigned)"
	}
	return s
}

// ErrNotMergeable: two cases cannot be merged (not the same member, the same case, or one
// of them done).
var ErrNotMergeable = errors.New("cases cannot be merged")

// MergeInto closes dup as a duplicate of primary: both must be of the same (known) member,
// distinct, and dup not done; primary must not be closed. It returns dup's transition.
func (dup *Case) MergeInto(primary Case, by string, at time.Time) (Transition, error) {
	switch {
	case dup.ID == primary.ID:
		return Transition{}, fmt.Errorf("%w: a case is not merged into itself", ErrNotMergeable)
	case dup.MemberID == "" || dup.MemberID != primary.MemberID:
		return Transition{}, fmt.Errorf("%w: only cases of one member are merged", ErrNotMergeable)
	case dup.Status.Done():
		return Transition{}, illegal(dup.Status, "merge", "the duplicate is already resolved or closed")
	case primary.Status.Done():
		return Transition{}, illegal(primary.Status, "merge into", "the primary case is resolved or closed")
	}
	from := dup.Status
	dup.Status = StatusClosed
	dup.MergedInto = primary.ID
	dup.ClosedAt = at
	dup.WaitingSince, dup.WaitingFrom = time.Time{}, ""
	return dup.record("merged", from, by, at, "merged into "+primary.ID), nil
}

// FirstContactOverdue reports whether c missed its first contact at now: not contacted,
// being worked (a waiting case's clocks are paused) and past the due time.
func (c Case) FirstContactOverdue(now time.Time) bool {
	return c.Status.Active() && c.ContactedAt.IsZero() && !c.FirstContactDueAt.IsZero() && c.FirstContactDueAt.Before(now)
}

// ResolutionOverdue reports whether c missed its resolution at now.
func (c Case) ResolutionOverdue(now time.Time) bool {
	return c.Status.Active() && !c.DueAt.IsZero() && c.DueAt.Before(now)
}

// NextDeadline is the deadline c works towards: the first contact while the customer
// was not contacted, else the resolution; with its due time and target.
// EarliestDeadline is the earlier of the resolution due time and, until the customer is
// contacted, the first contact's: the order the SLA sweep visits cases in.
func (c Case) EarliestDeadline() time.Time {
	if c.ContactedAt.IsZero() && !c.FirstContactDueAt.IsZero() && (c.DueAt.IsZero() || c.FirstContactDueAt.Before(c.DueAt)) {
		return c.FirstContactDueAt
	}
	return c.DueAt
}

func (c Case) NextDeadline() (Deadline, time.Time, time.Duration) {
	if c.ContactedAt.IsZero() && !c.FirstContactDueAt.IsZero() {
		return DeadlineFirstContact, c.FirstContactDueAt, c.FirstContactSLA
	}
	return DeadlineResolution, c.DueAt, c.ResolutionSLA
}

// MissedDeadline is the earliest deadline c has missed at now ("" if none).
func (c Case) MissedDeadline(now time.Time) (Deadline, time.Time) {
	if c.FirstContactOverdue(now) {
		return DeadlineFirstContact, c.FirstContactDueAt
	}
	if c.ResolutionOverdue(now) {
		return DeadlineResolution, c.DueAt
	}
	return "", time.Time{}
}

// Escalation levels: who hears of a missed deadline.
const (
	EscalateAssignee = 1
	EscalateTeamLead = 2
	EscalateManager  = 3
)

// SweepPolicy says when a case is reminded and escalated.
type SweepPolicy struct {
	// ReminderAt is the share of a deadline's target after which the assignee is
	// reminded (0.8: when a fifth of the business time is left); 0 for no reminders.
	ReminderAt float64
	// Step is the business time between two escalation levels.
	Step time.Duration
}

// DueReminder reports whether c is due its (one) reminder at now under p.
func (c Case) DueReminder(p SweepPolicy, cal BusinessCalendar, now time.Time) bool {
	if p.ReminderAt <= 0 || !c.RemindedAt.IsZero() || !c.Status.Active() || c.EscalationLevel > 0 {
		return false
	}
	_, due, target := c.NextDeadline()
	if due.IsZero() || target <= 0 || !now.Before(due) {
		return false
	}
	left := target - time.Duration(math.Round(float64(target)*p.ReminderAt))
	return cal.BusinessBetween(now, due) <= left
}

// DueEscalation returns the escalation level c should be at, at now under p: 0 when no
// deadline was missed, 1 once one was, 2 a Step of business time later, 3 two Steps
// later. Levels never go down; the caller escalates when this exceeds c.EscalationLevel.
func (c Case) DueEscalation(p SweepPolicy, cal BusinessCalendar, now time.Time) int {
	_, missed := c.MissedDeadline(now)
	if missed.IsZero() {
		return c.EscalationLevel
	}
	level := EscalateAssignee
	if p.Step > 0 {
		past := cal.BusinessBetween(missed, now)
		level += int(past / p.Step)
	}
	return max(min(level, EscalateManager), c.EscalationLevel)
}
