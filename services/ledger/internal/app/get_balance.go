package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// GetBalance reads what a member can spend, has in holds and has pending.
type GetBalance struct{ *base }

// Handle returns the balance; an unknown id is domain.ErrMemberNotFound.
func (u *GetBalance) Handle(ctx context.Context, memberID string) (domain.Balance, error) {
	memberID, ok := domain.CanonicalUUID(memberID)
	if !ok {
		return domain.Balance{}, domain.ErrMemberNotFound
	}
	return u.store.Balance(ctx, memberID)
}
