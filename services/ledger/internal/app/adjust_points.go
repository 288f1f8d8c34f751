package app

import (
	"cmp"
	"context"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// AdjustPoints credits or debits a member's available balance by hand, against
// program:adjustments.
type AdjustPoints struct{ *base }

// Handle makes the adjustment, in one transaction with its journal entry, its event and
// its audit entry (the balance before and after). The caller's roles must allow that many
// points (Config.AdjustLimits: a *domain.LimitError otherwise). The member's balance row
// is locked first, so a debit cannot race a hold into overdrawing it: a debit above the
// available balance is domain.ErrInsufficientPoints. A retry with the same idempotency
// key returns the first adjustment; the same key with a different request is
// domain.ErrIdempotencyKeyReused. An unknown or erased member is domain.ErrMemberNotFound.
func (u *AdjustPoints) Handle(ctx context.Context, actor domain.Actor, req domain.AdjustmentRequest) (a domain.Adjustment, made bool, err error) {
	id, ok := domain.CanonicalUUID(req.MemberID)
	if !ok {
		return domain.Adjustment{}, false, domain.ErrMemberNotFound
	}
	req.MemberID = id
	if err := req.Check(); err != nil {
		return domain.Adjustment{}, false, err
	}
	if err := u.cfg.AdjustLimits.Check(actor.Roles, req.Points); err != nil {
		return domain.Adjustment{}, false, err
	}
	err = u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		made = false
		balances, err := tx.LockMembers(ctx, []string{id})
		if err != nil {
			return err
		}
		available, ok := balances[id]
		if !ok {
			return domain.ErrMemberNotFound
		}
		// The key first: a retry of an adjustment that went through returns it, even once
		// the balance no longer covers the debit. Retries for one member queue on its lock
		// above, so the first one's row is seen here.
		existing, found, err := tx.AdjustmentByKey(ctx, req.IdempotencyKey)
		if err != nil {
			return err
		}
		if found {
			if existing.RequestHash != req.Hash() {
				return domain.ErrIdempotencyKeyReused
			}
			a = existing
			return nil
		}
		if a, err = domain.NewAdjustment(u.newID(), req, actor, available, u.clock()); err != nil {
			return err
		}
		// The same key for another member, at the same moment, is the one way to get here.
		if inserted, err := tx.InsertAdjustment(ctx, a, req.IdempotencyKey); err != nil || !inserted {
			return cmp.Or(err, domain.ErrIdempotencyKeyReused)
		}
		made = true
		if err := tx.Apply(ctx, []domain.Transaction{a.Tx()}); err != nil {
			return err
		}
		if err := u.adjustLots(ctx, tx, a); err != nil {
			return err
		}
		if err := tx.Emit(ctx, a.Event()); err != nil {
			return err
		}
		before, after := a.AuditStates()
		return u.audit(ctx, tx, actor, domain.AuditActionAdjust, domain.AuditKindBalance, id, before, after,
			string(a.Code)+": "+a.Note)
	})
	if err != nil {
		return domain.Adjustment{}, false, err
	}
	return a, made, nil
}

// adjustLots keeps the lots equal to the available balance: a credit is a lot under the
// programme's expiry; a debit burns lots in spending order. An adjustment is not an
// earning: it pays back no debt, so the balance after is what the audit log says.
func (u *AdjustPoints) adjustLots(ctx context.Context, tx Tx, a domain.Adjustment) error {
	if a.Direction == domain.AdjustDebit {
		lots, err := loadLots(ctx, tx, []string{a.MemberID})
		if err != nil {
			return err
		}
		lots.burn(a.MemberID, false, "", false, a.Points)
		return lots.save(ctx, tx, a.CreatedAt)
	}
	return tx.InsertLots(ctx, u.cfg.Lots.NewLots(a.MemberID, a.ID, string(a.Code), a.Points, nil, a.CreatedAt, time.Time{}, false, u.newID))
}
