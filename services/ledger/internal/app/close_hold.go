package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// CaptureHold redeems held points (hold → program:redeemed). Capturing a captured hold
// returns it unchanged; a voided or expired one is domain.ErrHoldNotOpen.
func (a *Application) CaptureHold(ctx context.Context, id string) (h domain.Hold, err error) {
	err = a.store.InTx(ctx, func(tx Tx) error {
		h, err = a.captureHold(ctx, tx, id)
		return err
	})
	return h, err
}

// VoidHold gives held points back to the member. Voiding a voided or expired hold returns
// it unchanged; a captured one is domain.ErrHoldNotOpen.
func (a *Application) VoidHold(ctx context.Context, id, reason string) (h domain.Hold, err error) {
	err = a.store.InTx(ctx, func(tx Tx) error {
		h, err = a.voidHold(ctx, tx, id, reason)
		return err
	})
	return h, err
}

func (a *Application) captureHold(ctx context.Context, tx Tx, id string) (domain.Hold, error) {
	id, ok := domain.CanonicalUUID(id)
	if !ok {
		return domain.Hold{}, domain.ErrHoldNotFound
	}
	h, err := tx.LockHold(ctx, id)
	if err != nil {
		return domain.Hold{}, err
	}
	changed, err := h.Capture(a.clock())
	if err != nil || !changed {
		return h, err
	}
	return h, a.closeHolds(ctx, tx, []domain.Hold{h})
}

func (a *Application) voidHold(ctx context.Context, tx Tx, id, reason string) (domain.Hold, error) {
	id, ok := domain.CanonicalUUID(id)
	if !ok {
		return domain.Hold{}, domain.ErrHoldNotFound
	}
	h, err := tx.LockHold(ctx, id)
	if err != nil {
		return domain.Hold{}, err
	}
	changed, err := h.Void(a.clock(), reason)
	if err != nil || !changed {
		return h, err
	}
	return h, a.closeHolds(ctx, tx, []domain.Hold{h})
}

// closeHolds books the transactions of holds just captured, voided or expired, stores
// their status and emits their events.
func (a *Application) closeHolds(ctx context.Context, tx Tx, hs []domain.Hold) error {
	txs := make([]domain.Transaction, len(hs))
	events := make([]domain.Event, len(hs))
	for i, h := range hs {
		txs[i] = h.CloseTx(a.newID())
		if h.Status == domain.StatusCaptured {
			events[i] = domain.HoldCaptured{Hold: h}
		} else {
			events[i] = domain.HoldVoided{Hold: h}
		}
	}
	// A hold is closed once: its row is locked and its status was open, so the keys
	// of these transactions are new.
	if err := tx.Apply(ctx, txs); err != nil {
		return err
	}
	if err := tx.SaveHolds(ctx, hs); err != nil {
		return err
	}
	return tx.Emit(ctx, events...)
}

// ExpireHolds gives back the points of up to limit placed holds past their expiry and
// reports how many it expired. Replicas share the work: locked holds are skipped.
func (a *Application) ExpireHolds(ctx context.Context, limit int) (n int, err error) {
	err = a.store.InTx(ctx, func(tx Tx) error {
		now := a.clock()
		hs, err := tx.LockExpiredHolds(ctx, now, limit)
		if err != nil {
			return err
		}
		expired := hs[:0]
		for _, h := range hs {
			if h.Expire(now) {
				expired = append(expired, h)
			}
		}
		n = len(expired)
		if n == 0 {
			return nil
		}
		return a.closeHolds(ctx, tx, expired)
	})
	return n, err
}
