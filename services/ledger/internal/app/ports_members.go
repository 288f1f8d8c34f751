package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// MembersStore is the reads of members' identifiers, profiles and consents.
type MembersStore interface {
	// LookupIdentifier returns what a till may learn of the member holding id, or
	// domain.ErrIdentifierNotFound.
	LookupIdentifier(ctx context.Context, id domain.Identifier) (domain.TillView, error)
	// SearchMembers returns up to limit members in id order, after the member id after
	// ("" from the start), that q matches (every member for an empty q).
	SearchMembers(ctx context.Context, q MemberQuery, after string, limit int) ([]domain.Profile, error)
	// Profile returns the member with their identifiers, tags and attributes, or
	// domain.ErrMemberNotFound.
	Profile(ctx context.Context, memberID string) (domain.Profile, error)
	// Consents returns the member's consent records, newest first.
	Consents(ctx context.Context, memberID string) ([]domain.ConsentRecord, error)
}

// MemberQuery is a staff search: members whose name or email starts with Text
// (case-insensitive) or one of whose identifiers starts with one of IdentifierPrefixes.
// Empty: every member.
type MemberQuery struct {
	Text               string
	IdentifierPrefixes []string
}

// MembersTx is what the members' use cases write, inside one transaction.
type MembersTx interface {
	// InsertIdentifiers gives the member ids; those the member holds already stay as they
	// are. One another member holds is a *domain.IdentifierTakenError, and the caller
	// must fail the transaction.
	InsertIdentifiers(ctx context.Context, memberID string, ids []domain.Identifier, at time.Time) error
	// DeleteIdentifier takes id from the member; domain.ErrIdentifierNotFound when the
	// member does not hold it.
	DeleteIdentifier(ctx context.Context, memberID string, id domain.Identifier) error
	// ResolveIdentifiers returns the member holding each of ids that one holds, in one
	// statement.
	ResolveIdentifiers(ctx context.Context, ids []domain.Identifier) (map[domain.Identifier]string, error)
	// ClaimableReceipts returns the unclaimed unmatched purchases that named one of ids
	// and happened at or after since, oldest first.
	ClaimableReceipts(ctx context.Context, ids []domain.Identifier, since time.Time) ([]domain.ClaimableReceipt, error)
	// LockProfile locks the member's row and returns their profile;
	// domain.ErrMemberNotFound for an unknown id.
	LockProfile(ctx context.Context, memberID string) (domain.Profile, error)
	// SaveProfile stores the profile's name, locale, tags and attributes.
	SaveProfile(ctx context.Context, p domain.Profile) error
	// InsertConsents appends consent records.
	InsertConsents(ctx context.Context, rs []domain.ConsentRecord) error
	// SaveConsents stores the member's survey and marketing consents.
	SaveConsents(ctx context.Context, m domain.Member) error
	// ClaimByKey returns the claim made with the scoped idempotency key and its request's
	// hash; found is false when there is none.
	ClaimByKey(ctx context.Context, key string) (c domain.Claim, hash string, found bool, err error)
	// SaveClaim records the claim under key and hash, credits the purchase to the member
	// (member, points, ledger transaction) and marks its unmatched record claimed.
	SaveClaim(ctx context.Context, c domain.Claim, key, hash string) error
	// EraseMemberData removes what the members' area keeps that may identify the
	// member: identifiers, the evidence of consents, tags and attributes, and the member
	// references the POS sent with their purchases and returns.
	EraseMemberData(ctx context.Context, memberID string) error
}
