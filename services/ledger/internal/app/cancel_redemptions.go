package app

import (
	"context"
	"errors"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// CancelRedemptions voids the holds of cancelled redemptions.
type CancelRedemptions struct{ holds }

// Handle voids the holds where there are any to void: an unknown hold or one already
// voided is left alone; a captured one is logged (the points were redeemed; giving them
// back is an adjustment, not a void).
func (u *CancelRedemptions) Handle(ctx context.Context, rs []domain.Redemption) error {
	reasons := map[string]string{} // hold id -> the first redemption's reason
	for _, r := range rs {
		if id, ok := domain.CanonicalUUID(r.HoldID); ok && reasons[id] == "" {
			reasons[id] = r.Reason
		}
	}
	void := func(h *domain.Hold, now time.Time) (bool, error) {
		reason := reasons[h.ID]
		if reason == "" {
			reason = "redemption cancelled"
		}
		return h.Void(now, reason)
	}
	return u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		closed, err := u.closeOpen(ctx, tx, holdIDs(rs), void)
		if err != nil {
			return err
		}
		for i, c := range closed {
			r := rs[i]
			switch {
			case errors.Is(c.err, domain.ErrHoldNotFound):
				u.log.InfoContext(ctx, "cancelled redemption has no hold to void", "redemption_id", r.RedemptionID, "hold_id", r.HoldID)
			case errors.Is(c.err, domain.ErrHoldNotOpen):
				u.log.WarnContext(ctx, "cancelled redemption's hold was already captured", "redemption_id", r.RedemptionID, "hold_id", r.HoldID)
			case c.err != nil:
				return c.err
			}
		}
		return nil
	})
}
