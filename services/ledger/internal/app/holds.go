package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// holds closes holds: what CaptureHold, VoidHold, ExpireHolds and the redemption
// commands share.
type holds struct{ *base }

// closeOne closes one hold in a transaction of its own; changed says this call closed it.
func (h holds) closeOne(ctx context.Context, id string, close func(*domain.Hold, time.Time) (bool, error)) (hold domain.Hold, changed bool, err error) {
	err = h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		hs, err := h.closeOpen(ctx, tx, []string{id}, close)
		if err != nil {
			return err
		}
		hold, changed = hs[0].hold, hs[0].changed
		return hs[0].err
	})
	return hold, changed, err
}

// closedHold is what closing one hold did: the hold as it is now, or why it could not
// be closed (domain.ErrHoldNotFound, or close's error).
type closedHold struct {
	hold    domain.Hold
	changed bool // this call closed it
	err     error
}

// closeOpen locks the holds with ids (in one statement, whatever their number), closes
// each with close and books those that changed. The result has one entry per id, in the
// order of ids; an id given twice is closed once.
func (h holds) closeOpen(ctx context.Context, tx Tx, ids []string,
	close func(h *domain.Hold, now time.Time) (changed bool, err error)) ([]closedHold, error) {
	canonical := make([]string, len(ids))
	valid := make([]string, 0, len(ids))
	for i, id := range ids {
		if c, ok := domain.CanonicalUUID(id); ok {
			canonical[i] = c
			valid = append(valid, c)
		}
	}
	locked, err := tx.LockHolds(ctx, valid)
	if err != nil {
		return nil, err
	}
	now := h.clock()
	out := make([]closedHold, len(ids))
	var changed []domain.Hold
	for i, id := range canonical {
		hold, ok := locked[id]
		if !ok {
			out[i].err = domain.ErrHoldNotFound
			continue
		}
		ch, err := close(&hold, now)
		out[i] = closedHold{hold: hold, err: err, changed: err == nil && ch}
		if err == nil && ch {
			locked[id] = hold
			changed = append(changed, hold)
		}
	}
	return out, h.book(ctx, tx, changed)
}

// book writes the transactions of holds just captured, voided or expired, stores their
// status and emits their events.
func (h holds) book(ctx context.Context, tx Tx, hs []domain.Hold) error {
	if len(hs) == 0 {
		return nil
	}
	// Voided holds give their lots back, under the members' balance locks; what came from
	// lots that expired meanwhile expires.
	var members []string
	for _, hold := range hs {
		if hold.Status != domain.StatusCaptured {
			members = append(members, hold.MemberID)
		}
	}
	if _, err := tx.LockMembers(ctx, members); err != nil {
		return err
	}
	expired, err := giveLotsBack(ctx, tx, hs, h.clock())
	if err != nil {
		return err
	}
	txs := make([]domain.Transaction, len(hs))
	events := make([]domain.Event, 0, len(hs))
	for i, hold := range hs {
		txs[i] = domain.VoidTx(hold, h.newID(), expired[hold.ID])
		if hold.Status == domain.StatusCaptured {
			events = append(events, domain.HoldCaptured{Hold: hold})
		} else {
			events = append(events, domain.HoldVoided{Hold: hold})
		}
		if n := expired[hold.ID]; n > 0 {
			events = append(events, domain.PointsDebited{TransactionID: txs[i].ID, MemberID: hold.MemberID, Points: n,
				Reason: domain.ReasonExpiry, Reference: hold.Reference, OccurredAt: hold.ClosedAt})
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

// capturedPoints are the points of the holds this call captured.
func capturedPoints(closed []closedHold) int64 {
	var n int64
	for _, c := range closed {
		if c.changed && c.hold.Status == domain.StatusCaptured {
			n += c.hold.Points
		}
	}
	return n
}

func capture(h *domain.Hold, now time.Time) (bool, error) { return h.Capture(now) }

func holdIDs(rs []domain.Redemption) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.HoldID
	}
	return ids
}
