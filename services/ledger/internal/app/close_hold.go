package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// CaptureHold redeems held points (hold → program:redeemed). Capturing a captured hold
// returns it unchanged; a voided or expired one is domain.ErrHoldNotOpen.
func (a *Application) CaptureHold(ctx context.Context, id string) (domain.Hold, error) {
	return a.closeHold(ctx, id, capture)
}

// VoidHold gives held points back to the member. Voiding a voided or expired hold returns
// it unchanged; a captured one is domain.ErrHoldNotOpen.
func (a *Application) VoidHold(ctx context.Context, id, reason string) (domain.Hold, error) {
	return a.closeHold(ctx, id, func(h *domain.Hold, now time.Time) (bool, error) { return h.Void(now, reason) })
}

func capture(h *domain.Hold, now time.Time) (bool, error) { return h.Capture(now) }

// closeHold closes one hold in its own transaction.
func (a *Application) closeHold(ctx context.Context, id string, close func(*domain.Hold, time.Time) (bool, error)) (h domain.Hold, err error) {
	err = a.store.InTx(ctx, func(tx Tx) error {
		hs, err := a.closeOpenHolds(ctx, tx, []string{id}, close)
		if err != nil {
			return err
		}
		h = hs[0].hold
		return hs[0].err
	})
	return h, err
}

// closedHold is what closing one hold did: the hold as it is now, or why it could not
// be closed (domain.ErrHoldNotFound, or close's error).
type closedHold struct {
	hold domain.Hold
	err  error
}

// closeOpenHolds locks the holds with ids (in one statement, whatever their number),
// closes each with close and books those that changed. The result has one entry per
// id, in the order of ids; an id given twice is closed once.
func (a *Application) closeOpenHolds(ctx context.Context, tx Tx, ids []string,
	close func(h *domain.Hold, now time.Time) (changed bool, err error)) ([]closedHold, error) {
	canonical := make([]string, len(ids))
	valid := make([]string, 0, len(ids))
	for i, id := range ids {
		if c, ok := domain.CanonicalUUID(id); ok {
			canonical[i] = c
			valid = append(valid, c)
		}
	}
	holds, err := tx.LockHolds(ctx, valid)
	if err != nil {
		return nil, err
	}
	now := a.clock()
	out := make([]closedHold, len(ids))
	var changed []domain.Hold
	for i, id := range canonical {
		h, ok := holds[id]
		if !ok {
			out[i].err = domain.ErrHoldNotFound
			continue
		}
		ch, err := close(&h, now)
		out[i] = closedHold{hold: h, err: err}
		if err == nil && ch {
			holds[id] = h
			changed = append(changed, h)
		}
	}
	return out, a.closeHolds(ctx, tx, changed)
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
	if len(hs) == 0 {
		return nil
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
