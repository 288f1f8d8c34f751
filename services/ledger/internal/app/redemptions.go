package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// ErrRedemptionHold is why a completed redemption's hold cannot be captured: it is
// unknown, voided or expired. No retry helps; an operator must look.
var ErrRedemptionHold = errors.New("redemption's hold cannot be captured")

// Redemption is a rewards redemption that completed or was cancelled.
type Redemption struct {
	RedemptionID string
	HoldID       string
	Reason       string
}

// CompleteRedemptions captures the holds of completed redemptions, idempotently, with a
// few statements whatever their number. A hold that is unknown, voided or expired is
// ErrRedemptionHold.
func (a *Application) CompleteRedemptions(ctx context.Context, tx Tx, rs []Redemption) error {
	closed, err := a.closeOpenHolds(ctx, tx, holdIDs(rs), capture)
	if err != nil {
		return err
	}
	for i, c := range closed {
		if c.err != nil {
			return fmt.Errorf("redemption %s, hold %s: %w: %w", rs[i].RedemptionID, rs[i].HoldID, ErrRedemptionHold, c.err)
		}
	}
	return nil
}

// CancelRedemptions voids the holds of cancelled redemptions where there are any to void:
// an unknown hold or one already voided is left alone; a captured one is logged (the
// points were redeemed; giving them back is an adjustment, not a void).
func (a *Application) CancelRedemptions(ctx context.Context, tx Tx, rs []Redemption) error {
	reasons := map[string]string{} // hold id -> the first redemption's reason
	for _, r := range rs {
		if id, ok := domain.CanonicalUUID(r.HoldID); ok && reasons[id] == "" {
			reasons[id] = r.Reason
		}
	}
	closed, err := a.closeOpenHolds(ctx, tx, holdIDs(rs), func(h *domain.Hold, now time.Time) (bool, error) {
		reason := reasons[h.ID]
		if reason == "" {
			reason = "redemption cancelled"
		}
		return h.Void(now, reason)
	})
	if err != nil {
		return err
	}
	for i, c := range closed {
		r := rs[i]
		switch {
		case errors.Is(c.err, domain.ErrHoldNotFound):
			a.log.InfoContext(ctx, "cancelled redemption has no hold to void", "redemption_id", r.RedemptionID, "hold_id", r.HoldID)
		case errors.Is(c.err, domain.ErrHoldNotOpen):
			a.log.WarnContext(ctx, "cancelled redemption's hold was already captured", "redemption_id", r.RedemptionID, "hold_id", r.HoldID)
		case c.err != nil:
			return c.err
		}
	}
	return nil
}

func holdIDs(rs []Redemption) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.HoldID
	}
	return ids
}
