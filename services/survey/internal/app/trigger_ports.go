package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// TriggerTx is the part of a transaction that trigger rules, touchpoints and the contact
// policy at trigger time use.
type TriggerTx interface {
	// TriggerStates looks up, in one statement, what the contact policy needs for each
	// trigger (by index), and the trigger rules' epoch.
	TriggerStates(ctx context.Context, ts []domain.Trigger, notAfter time.Time) ([]TriggerState, int64, error)
	// TriggerRules returns every rule, active or not.
	TriggerRules(ctx context.Context) ([]domain.TriggerRule, error)
	// ReserveContacts records now as the last invitation of each member who consented,
	// has no open case and was not invited after notAfter, and returns those members
	// (the database serialises concurrent reservations: a member is reserved once).
	ReserveContacts(ctx context.Context, memberIDs []string, now, notAfter time.Time) ([]string, error)
	// AddSuppressions records suppressions and returns the ids of those recorded: a
	// touchpoint held back before (same key, no invitation) is not recorded again.
	AddSuppressions(ctx context.Context, ss []domain.Suppression) ([]string, error)
	// RecordReturns remembers returned purchases by touchpoint key and turns their
	// SCHEDULED invitations SUPPRESSED (reason RETURNED); it returns those invitations.
	RecordReturns(ctx context.Context, keys []string, at time.Time) ([]domain.Invitation, error)
	// RegisterPurchases registers the touchpoint keys of purchases about to be invited
	// and returns those returned already (a return committed meanwhile); a return of
	// one of them waits for this transaction.
	RegisterPurchases(ctx context.Context, keys []string) ([]string, error)
	// OpenCases records open feedback cases (of members not erased).
	OpenCases(ctx context.Context, cs []Case) error
	// CloseCases forgets closed cases.
	CloseCases(ctx context.Context, caseIDs []string) error
	// UpdateMembers applies changes of members' copies; of each kind, the later as_of
	// wins. Members not known are left alone (their enrolment brings everything).
	UpdateMembers(ctx context.Context, us []MemberUpdate) error

	// CreateTriggerRule stores a new rule with the hash of the request that creates it,
	// or returns the rule stored under the same idempotency key and its request's hash
	// (created false).
	CreateTriggerRule(ctx context.Context, r domain.TriggerRule, idempotencyKey, requestHash string) (stored domain.TriggerRule, storedHash string, created bool, err error)
	// LockTriggerRule returns a rule locked until the transaction ends, or
	// domain.ErrTriggerRuleNotFound.
	LockTriggerRule(ctx context.Context, id string) (domain.TriggerRule, error)
	// SaveTriggerRule stores a rule's new state (settings, version, active, updated_at)
	// and moves the rules' epoch.
	SaveTriggerRule(ctx context.Context, r domain.TriggerRule) error
	// SurveyUsable reports whether a survey exists and is not retired.
	SurveyUsable(ctx context.Context, surveyID string) (bool, error)
}

// TriggerStore are the reads of trigger rules and suppressions.
type TriggerStore interface {
	// TriggerRule returns a rule or domain.ErrTriggerRuleNotFound.
	TriggerRule(ctx context.Context, id string) (domain.TriggerRule, error)
	// ListSuppressions returns up to limit suppressions, newest first, after the cursor.
	ListSuppressions(ctx context.Context, f SuppressionFilter, after *Cursor, limit int) ([]domain.Suppression, error)
	// ListTriggerRules returns the rules in the order they are tried.
	ListTriggerRules(ctx context.Context, includeInactive bool) ([]domain.TriggerRule, error)
}

// TriggerState is what TriggerStates found for one trigger.
type TriggerState struct {
	Member domain.MemberState
	// Capped: the member was invited after notAfter.
	Capped bool
	// Returned: the purchase was returned already.
	Returned bool
	// InvitationID is the invitation this touchpoint (by event or key) already has;
	// SuppressedReason the reason it was already held back for.
	InvitationID     string
	SuppressedReason domain.SuppressionReason
}

// Case is a feedback case opened for a member.
type Case struct {
	ID       string
	MemberID string
	OpenedAt time.Time
}

// MemberUpdateKind says which part of a member's copy an update changes.
type MemberUpdateKind int

const (
	// UpdateProfile: email, phone, locale, time zone, tags and tier (enrolment, update).
	UpdateProfile MemberUpdateKind = iota + 1
	// UpdateTier: the tier alone (a tier change).
	UpdateTier
)

// MemberUpdate is a change of a member's copy, as of a moment.
type MemberUpdate struct {
	Kind     MemberUpdateKind
	MemberID string
	Profile  domain.MemberProfile
	AsOf     time.Time
}

// SuppressionFilter narrows ListSuppressions; zero fields match all.
type SuppressionFilter struct {
	MemberID string
	Reason   domain.SuppressionReason
}

// TriggerCommands change trigger rules, and take in touchpoints and what the contact
// policy follows (returns, cases, members' changes).
type TriggerCommands struct {
	CreateRule       *CreateTriggerRule
	UpdateRule       *UpdateTriggerRule
	SetRuleActive    *SetTriggerRuleActive
	RecordTouchpoint *RecordTouchpoint
	RecordReturns    *RecordReturns
	TrackCases       *TrackCases
	UpdateMembers    *UpdateMembers
}

// TriggerQueries read trigger rules and suppressions.
type TriggerQueries struct {
	GetRule          *GetTriggerRule
	ListRules        *ListTriggerRules
	ListSuppressions *ListSuppressions
}

func newTriggerUseCases(store Store, triggers *EvaluateTriggers, now func() time.Time) (TriggerCommands, TriggerQueries) {
	rules := ruleWriter{store: store, engine: triggers.engine, now: now}
	return TriggerCommands{
			CreateRule:       &CreateTriggerRule{rules},
			UpdateRule:       &UpdateTriggerRule{rules},
			SetRuleActive:    &SetTriggerRuleActive{rules},
			RecordTouchpoint: &RecordTouchpoint{store: store, triggers: triggers},
			RecordReturns:    &RecordReturns{store: store, now: now},
			TrackCases:       &TrackCases{store: store, triggers: triggers},
			UpdateMembers:    &UpdateMembers{store: store},
		}, TriggerQueries{
			GetRule:          &GetTriggerRule{store: store},
			ListRules:        &ListTriggerRules{store: store},
			ListSuppressions: &ListSuppressions{store: store},
		}
}

// ruleWriter is what the use cases that change rules share.
type ruleWriter struct {
	store  Store
	engine *domain.TriggerEngine
	now    func() time.Time
}

// check compiles a rule version and checks its survey, inside tx.
func (w ruleWriter) check(ctx context.Context, tx Tx, r domain.TriggerRule) error {
	if _, err := w.engine.Compile(r); err != nil {
		return err
	}
	ok, err := tx.SurveyUsable(ctx, r.SurveyID)
	if err != nil {
		return err
	}
	if !ok {
		return &domain.FieldError{Field: "spec.survey_id", Reason: "no such survey, or it is retired"}
	}
	return nil
}
