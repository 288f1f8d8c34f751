package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// GetMember reads a member.
type GetMember struct{ *base }

// Handle returns the member; an erased one with ErasedAt set and its personal data gone.
// An unknown id is domain.ErrMemberNotFound.
func (u *GetMember) Handle(ctx context.Context, id string) (domain.Member, error) {
	return member(ctx, u.store, id)
}

func member(ctx context.Context, store Store, id string) (domain.Member, error) {
	id, ok := domain.CanonicalUUID(id)
	if !ok {
		return domain.Member{}, domain.ErrMemberNotFound
	}
	return store.Member(ctx, id)
}
