package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// PlaceHold moves points from the member's available balance to a hold.
type PlaceHold struct{ *base }

// Handle places the hold. The member's balance row is locked first, so concurrent holds
// cannot together overdraw it. A retry with the same idempotency key returns the hold as
// it is now. An unknown or erased member is domain.ErrMemberNotFound.
func (u *PlaceHold) Handle(ctx context.Context, req domain.HoldRequest) (domain.Hold, error) {
	id, ok := domain.CanonicalUUID(req.MemberID)
	if !ok {
		return domain.Hold{}, domain.ErrMemberNotFound
	}
	req.MemberID = id
	if req.TTL <= 0 {
		req.TTL = u.cfg.HoldTTL
	}
	h := domain.NewHold(u.newID(), req, u.clock())
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		balances, err := tx.LockMembers(ctx, []string{req.MemberID})
		if err != nil {
			return err
		}
		available, ok := balances[req.MemberID]
		if !ok {
			return domain.ErrMemberNotFound
		}
		inserted, existing, err := tx.InsertHold(ctx, h, req.IdempotencyKey)
		if err != nil {
			return err
		}
		if !inserted {
			if existing.RequestHash != h.RequestHash {
				return domain.ErrIdempotencyKeyReused
			}
			h = existing
			return nil
		}
		if available < h.Points {
			return domain.ErrInsufficientPoints
		}
		if err := tx.Apply(ctx, []domain.Transaction{h.PlaceTx(u.newID())}); err != nil {
			return err
		}
		if err := takeLots(ctx, tx, h, h.CreatedAt); err != nil { // the soonest-expiring lots first
			return err
		}
		return tx.Emit(ctx, domain.HoldPlaced{Hold: h})
	})
	if err != nil {
		return domain.Hold{}, err
	}
	return h, nil
}
