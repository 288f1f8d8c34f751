// Package app holds the survey's use cases. It depends on the storage and event outbox
// through the interfaces declared here; adapters implement them.
package app

import (
	"context"
	"errors"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// Tx is one database transaction: the state the survey keeps and the events it emits,
// committed together (events leave through the outbox).
type Tx interface {
	// ClaimContacts looks up the members of the triggers (one trigger per member) in one
	// statement. For each member who consented and was not invited after notAfter, and
	// whose trigger has no invitation yet, it records now as their last invitation (the
	// database serialises concurrent claims, so a member is claimed once) and reports
	// ContactClaimed. Members not known locally are reported ContactUnknown or
	// ContactErased; known members who may not be asked are left out.
	ClaimContacts(ctx context.Context, ts []domain.Trigger, now, notAfter time.Time) ([]ContactState, error)
	// LockMembers serialises this transaction with others that touch the same members'
	// enrolment, erasure or parked triggers, until it ends.
	LockMembers(ctx context.Context, memberIDs []string) error
	// ParkTriggers keeps triggers of members not known yet (a trigger parked twice is
	// kept once).
	ParkTriggers(ctx context.Context, ts []domain.Trigger, now time.Time) error
	// TakeParkedTriggers removes every parked trigger of the members and returns those
	// parked at or after since.
	TakeParkedTriggers(ctx context.Context, memberIDs []string, since time.Time) ([]domain.Trigger, error)
	// PruneParkedTriggers deletes triggers parked before before.
	PruneParkedTriggers(ctx context.Context, before time.Time) error
	// CreateInvitations stores the invitations whose trigger has none yet and returns
	// the ids of those it stored.
	CreateInvitations(ctx context.Context, invs []domain.Invitation) ([]string, error)
	// UpsertMembers stores the members, except erased ones, and returns the ids stored.
	UpsertMembers(ctx context.Context, ms []domain.Member) ([]string, error)
	// EraseMembers deletes or anonymises the members' personal data and remembers that
	// they are erased, keeping invitations and responses as anonymous counts.
	EraseMembers(ctx context.Context, memberIDs []string, at time.Time) error
	// Invitation returns an invitation or domain.ErrInvitationNotFound.
	Invitation(ctx context.Context, id string) (domain.Invitation, error)
	// AddResponse stores a response, or returns domain.ErrAlreadyAnswered when the
	// invitation has one.
	AddResponse(ctx context.Context, r domain.Response) error
	// EmitInvitationCreated enqueues survey.invitation.created.
	EmitInvitationCreated(ctx context.Context, inv domain.Invitation, url string) error
	// EmitResponseSubmitted enqueues survey.response.submitted.
	EmitResponseSubmitted(ctx context.Context, r domain.Response) error
}

// Store is the survey's database outside event handlers.
type Store interface {
	// InTx runs fn in a transaction, committed when fn returns nil.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Invitation returns an invitation and whether it was answered, or
	// domain.ErrInvitationNotFound.
	Invitation(ctx context.Context, id string) (domain.Invitation, bool, error)
	// Survey returns a survey definition.
	Survey(ctx context.Context, id string) (domain.Survey, error)
	// ListInvitations returns up to limit invitations of a member, newest first, after
	// the cursor when there is one.
	ListInvitations(ctx context.Context, memberID string, after *Cursor, limit int) ([]InvitationView, error)
}

// ContactStatus is what ClaimContacts found out about a member.
type ContactStatus int

const (
	// ContactClaimed: the member may be invited now and the contact is recorded.
	ContactClaimed ContactStatus = iota + 1
	// ContactUnknown: the member is not known here (yet).
	ContactUnknown
	// ContactErased: the member was erased.
	ContactErased
)

// ContactState is one member's result of ClaimContacts.
type ContactState struct {
	MemberID string
	Status   ContactStatus
	Locale   string // when claimed
}

// Cursor marks a position in a newest-first list of invitations.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// InvitationView is an invitation as listed, with its link.
type InvitationView struct {
	domain.Invitation
	URL      string
	Answered bool
}

// Config are the application's settings.
type Config struct {
	// SurveyID is the survey invitations are for.
	SurveyID string
	// LinkTTL is how long a survey link can be answered.
	LinkTTL time.Duration
	// Contact limits how often a member is invited.
	Contact domain.ContactPolicy
	// PendingTTL is how long a trigger of a member not known yet is kept.
	PendingTTL time.Duration
}

// Application gathers the use cases.
type Application struct {
	Triggers        *HandleTriggers
	Members         *HandleMembers
	SubmitResponse  *SubmitResponse
	ListInvitations *ListInvitations
	OpenSurvey      *OpenSurvey
}

// New wires the use cases.
func New(cfg Config, store Store, links *Links, now func() time.Time) (*Application, error) {
	if store == nil || links == nil || now == nil {
		return nil, errors.New("app: store, links and clock are required")
	}
	if cfg.SurveyID == "" || cfg.LinkTTL <= 0 || cfg.Contact.Interval < 0 || cfg.PendingTTL <= 0 {
		return nil, errors.New("app: survey id, a positive link TTL and pending TTL and a non-negative contact interval are required")
	}
	triggers := &HandleTriggers{cfg: cfg, links: links, now: now}
	return &Application{
		Triggers:        triggers,
		Members:         &HandleMembers{triggers: triggers, pendingTTL: cfg.PendingTTL, now: now},
		SubmitResponse:  &SubmitResponse{store: store, links: links, now: now},
		ListInvitations: &ListInvitations{store: store, links: links},
		OpenSurvey:      &OpenSurvey{store: store, links: links, now: now},
	}, nil
}
