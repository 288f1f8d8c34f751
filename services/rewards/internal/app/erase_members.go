package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// EraseMembersHandler forgets what could identify erased members or act for them (see
// domain.MemberErasure), keeping their redemptions and coupons under the pseudonymous
// member id.
type EraseMembersHandler struct{ store Store }

// Handle applies a batch of erasures in one transaction: the consumer's, which also
// records the batch's events as handled. Erasing a member twice changes nothing.
func (h EraseMembersHandler) Handle(ctx context.Context, erasures []domain.MemberErasure) error {
	held := make([]domain.MemberErasure, 0, len(erasures))
	for _, e := range erasures {
		// The ledger's member ids are UUIDs, as are the ones stored here; another id
		// names no member this service could hold anything of.
		if id, ok := memberKey(e.MemberID); ok {
			e.MemberID = id
			held = append(held, e)
		}
	}
	if len(held) == 0 {
		return nil
	}
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		return tx.EraseMembers(ctx, held)
	})
}

// memberKey returns the canonical form of a member id, or false when it cannot be one.
func memberKey(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	return u.String(), true
}
