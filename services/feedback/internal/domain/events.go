package domain

import "time"

// Event is a change that other services hear about. The application decides which
// events a change emits; the outbox publishes them after the change commits.
type Event interface{ isEvent() }

// CaseOpened: a response opened Case (as stored). ReferralCode is the member's, on a
// referral request.
type CaseOpened struct {
	Case         Case
	ReferralCode string
}

// CaseResolved: Case was resolved (as stored).
type CaseResolved struct{ Case Case }

// ResponseTagged: the comment of Response, routed for the first time, named Topics;
// CaseID is the case it opened ("" for none). Only what topics are counted by leaves the
// service: not the member, nor the comment.
type ResponseTagged struct {
	Response Response
	CaseID   string
	Topics   []string
}

func (ResponseTagged) isEvent() {}

func (CaseOpened) isEvent()   {}
func (CaseResolved) isEvent() {}

// CaseChanged: a lifecycle move of Case (as stored after it): acknowledge, contact, wait,
// resume, close, merged (closed as a duplicate), reopen or reassign. A resolution is
// CaseResolved.
type CaseChanged struct {
	Case       Case
	Transition Transition
	// FromAssignee is who had the case before a reassignment.
	FromAssignee string
}

// CaseNoteAdded: Note was added to Case.
type CaseNoteAdded struct {
	Case Case
	Note Note
}

// CasesMerged: Duplicate was closed into Primary.
type CasesMerged struct {
	Primary, Duplicate Case
	By                 string
	At                 time.Time
}

// Deadline names an SLA clock.
type Deadline string

const (
	DeadlineFirstContact Deadline = "FIRST_CONTACT"
	DeadlineResolution   Deadline = "RESOLUTION"
)

// CaseEscalated: Case missed Deadline (due at DueAt) and reached Level; Notified (a staff
// id, "" when the team has nobody in the role) was told.
type CaseEscalated struct {
	Case     Case
	Level    int
	Deadline Deadline
	DueAt    time.Time
	Notified string
	At       time.Time
}

// CaseReminded: Case nears Deadline (due at DueAt); Notified was reminded.
type CaseReminded struct {
	Case     Case
	Deadline Deadline
	DueAt    time.Time
	Notified string
	At       time.Time
}

func (CaseChanged) isEvent()   {}
func (CaseNoteAdded) isEvent() {}
func (CasesMerged) isEvent()   {}
func (CaseEscalated) isEvent() {}
func (CaseReminded) isEvent()  {}

// GoodwillGranted: resolving a case granted its member goodwill points, a coupon reward,
// or both.
type GoodwillGranted struct{ Goodwill Goodwill }

func (GoodwillGranted) isEvent() {}

// GoodwillRewardIssued: the rewards service issued the coupon a case's goodwill granted;
// Reward.Status says whether its code was emailed. Never the code.
type GoodwillRewardIssued struct{ Reward GoodwillReward }

func (GoodwillRewardIssued) isEvent() {}
