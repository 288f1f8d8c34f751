package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// Store is the survey's database: reads, and transactions for the writes.
type Store interface {
	// InTx runs fn in a transaction, committed when fn returns nil. Called while an
	// event consumer's transaction is open in ctx, it joins that transaction.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Invitation returns an invitation and whether it was answered (status ANSWERED or
	// a response), or domain.ErrInvitationNotFound.
	Invitation(ctx context.Context, id string) (domain.Invitation, bool, error)
	DefinitionStore
	// ListInvitations returns up to limit invitations of a member, newest first, after
	// the cursor when there is one.
	ListInvitations(ctx context.Context, memberID string, after *Cursor, limit int) ([]InvitationView, error)
	// MemberData returns everything stored about a member, read in one snapshot; for a
	// member it knows nothing of, an empty MemberData.
	MemberData(ctx context.Context, memberID string) (domain.MemberData, error)
	TriggerStore
	DeliveryStore
}

// Tx is one database transaction: the state the survey keeps and the events it emits,
// committed together (events leave through the outbox).
type Tx interface {
	ReceiptTx
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
	// they are erased, keeping invitations and responses as anonymous counts. It waits
	// for transactions that hold one of the members' invitations (LockInvitation), so
	// that a response being recorded meanwhile is erased too.
	EraseMembers(ctx context.Context, memberIDs []string, at time.Time) error
	// LockInvitation returns an invitation, locked against erasure and other answers
	// until the transaction ends, or domain.ErrInvitationNotFound. Once an erasure of its
	// member has committed, it returns the invitation anonymised and closed.
	LockInvitation(ctx context.Context, id string) (domain.Invitation, error)
	// AddResponse stores a response, or returns domain.ErrAlreadyAnswered when the
	// invitation has one.
	AddResponse(ctx context.Context, r domain.Response) error
	// Emit writes events to the outbox, to be published once the transaction commits;
	// ctx carries the trace they continue.
	Emit(ctx context.Context, events ...domain.Event) error
	DefinitionTx
	TriggerTx
	DeliveryTx
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
