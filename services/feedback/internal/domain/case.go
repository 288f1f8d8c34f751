package domain

import (
	"fmt"
	"time"
)

// CaseKind is the follow-up a case asks for.
type CaseKind string

const (
	// KindCallback: call the customer back (a detractor).
	KindCallback CaseKind = "CALLBACK"
	// KindReferralRequest: ask the customer for a referral (a promoter).
	KindReferralRequest CaseKind = "REFERRAL_REQUEST"
)

// Valid reports whether k is a known kind.
func (k CaseKind) Valid() bool { return k == KindCallback || k == KindReferralRequest }

// Status is where a case stands.
type Status string

const (
	StatusOpen     Status = "open"
	StatusResolved Status = "resolved"
)

// Case is one piece of follow-up work for a team.
type Case struct {
	ID         string
	ResponseID string
	Kind       CaseKind
	Team       string
	Status     Status
	MemberID   string
	SurveyID   string
	Score      int
	Comment    string
	NPSClass   NPSClass
	// ScoreKind is the kind of Score ("" on cases opened before it was kept).
	ScoreKind  ScoreKind
	EmployeeID string
	// Topics are the comment's topics (the taxonomy's keys) when the case was opened.
	Topics      []string
	Touchpoint  string
	StoreID     string
	RuleID      int64
	RuleVersion int
	SubmittedAt time.Time
	OpenedAt    time.Time
	DueAt       time.Time

	Outcome        Outcome
	ResolutionNote string
	ResolvedBy     string
	ResolvedAt     time.Time

	// Lifecycle (see lifecycle.go).
	Assignee          string
	Priority          int
	TaskType          string
	RootCause         string
	FirstContactSLA   time.Duration
	ResolutionSLA     time.Duration
	FirstContactDueAt time.Time
	AcknowledgedAt    time.Time
	ContactedAt       time.Time
	WaitingSince      time.Time
	WaitingFrom       Status
	// Paused is the business time the case waited for the customer.
	Paused          time.Duration
	EscalationLevel int
	RemindedAt      time.Time
	ClosedAt        time.Time
	MergedInto      string

	// AnonymisedAt is when the case lost its personal data (its member was erased);
	// zero while it has it.
	AnonymisedAt time.Time
}

// DueAt is when the follow-up of a response submitted at submitted is due: the customer
// waits from the moment they answered, not from when the case reached the team.
func DueAt(submitted time.Time, dueIn time.Duration) time.Time {
	return submitted.Add(dueIn)
}

// IsOverdue reports whether a case in status, due at due, is overdue at now: open and
// past its due time.
func IsOverdue(status Status, due, now time.Time) bool {
	return status.Active() && due.Before(now)
}

// Overdue reports whether c is overdue at now: it missed its first contact or its
// resolution.
func (c Case) Overdue(now time.Time) bool {
	return c.FirstContactOverdue(now) || c.ResolutionOverdue(now)
}

// OpenCase returns the case that rule opens for response r, opened at now.
func OpenCase(id string, r Response, rule Rule, now time.Time) Case {
	return Case{
		ID:          id,
		ResponseID:  r.ResponseID,
		Kind:        rule.Kind,
		Team:        rule.Team,
		Status:      StatusOpen,
		MemberID:    r.MemberID,
		SurveyID:    r.SurveyID,
		Score:       r.Score,
		Comment:     r.Comment,
		NPSClass:    r.NPSClass,
		ScoreKind:   r.ScoreKind,
		EmployeeID:  r.EmployeeID,
		Touchpoint:  r.Touchpoint,
		StoreID:     r.StoreID,
		RuleID:      rule.ID,
		RuleVersion: rule.Version,
		SubmittedAt: r.SubmittedAt,
		OpenedAt:    now,
		DueAt:       DueAt(r.SubmittedAt, rule.ResolutionSLA),
	}
}

// Resolve closes c with outcome. The outcome must fit the kind; a resolved case stays as
// it was resolved.
func (c *Case) Resolve(outcome Outcome, note, by string, at time.Time) error {
	if err := CheckOutcome(c.Kind, outcome); err != nil {
		return err
	}
	if c.Status.Done() {
		return ErrAlreadyResolved
	}
	c.Status = StatusResolved
	c.Outcome = outcome
	c.ResolutionNote = note
	c.ResolvedBy = by
	c.ResolvedAt = at
	return nil
}

// Outcome is how a case was closed.
type Outcome string

const (
	OutcomeContactedResolved   Outcome = "CONTACTED_RESOLVED"
	OutcomeContactedUnresolved Outcome = "CONTACTED_UNRESOLVED"
	OutcomeUnreachable         Outcome = "UNREACHABLE"
	OutcomeReferralGiven       Outcome = "REFERRAL_GIVEN"
	OutcomeReferralDeclined    Outcome = "REFERRAL_DECLINED"
	OutcomeNoActionNeeded      Outcome = "NO_ACTION_NEEDED"
)

// outcomesByKind lists what may close each kind of case.
var outcomesByKind = map[CaseKind][]Outcome{
	KindCallback:        {OutcomeContactedResolved, OutcomeContactedUnresolved, OutcomeUnreachable, OutcomeNoActionNeeded},
	KindReferralRequest: {OutcomeReferralGiven, OutcomeReferralDeclined, OutcomeNoActionNeeded},
}

// CheckOutcome returns ErrOutcomeNotAllowed (wrapped, naming both) unless outcome may
// close a case of kind.
func CheckOutcome(kind CaseKind, outcome Outcome) error {
	for _, o := range outcomesByKind[kind] {
		if o == outcome {
			return nil
		}
	}
	return fmt.Errorf("%w: %s cannot close a %s case (allowed: %v)", ErrOutcomeNotAllowed, outcome, kind, outcomesByKind[kind])
}
