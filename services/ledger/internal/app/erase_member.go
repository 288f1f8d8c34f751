package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// EraseMember removes a member's personal data from the ledger and announces it, so that
// every service erases or anonymises its copy.
type EraseMember struct{ *base }

// Handle erases the member (see domain.Member.Erase) and emits domain.MemberErased in the
// same transaction. Postings, balances, holds, purchases and returns stay under the
// member's id, a pseudonym once nothing else names the person. Erasing an erased member
// returns it as the first erasure left it and emits nothing. An unknown id is
// domain.ErrMemberNotFound.
func (u *EraseMember) Handle(ctx context.Context, memberID, reason string) (domain.Member, error) {
	id, ok := domain.CanonicalUUID(memberID)
	if !ok {
		return domain.Member{}, domain.ErrMemberNotFound
	}
	var m domain.Member
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		// Locked: of two erasures at once, the second waits and finds the first's.
		if m, err = tx.LockMember(ctx, id); err != nil {
			return err
		}
		if !m.Erase(u.clock(), reason) {
			return nil
		}
		if err := tx.SaveErasure(ctx, m); err != nil {
			return err
		}
		if err := tx.EraseMemberData(ctx, m.ID); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.MemberErased{MemberID: m.ID, ErasedAt: m.ErasedAt})
	})
	if err != nil {
		return domain.Member{}, err
	}
	return m, nil
}
