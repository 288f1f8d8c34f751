package app

import (
	"context"
	"errors"
	"fmt"

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

// CompleteRedemptions captures the holds of completed redemptions, idempotently.
func (a *Application) CompleteRedemptions(ctx context.Context, tx Tx, rs []Redemption) error {
	for _, r := range rs {
		if _, err := a.captureHold(ctx, tx, r.HoldID); err != nil {
			if errors.Is(err, domain.ErrHoldNotFound) || errors.Is(err, domain.ErrHoldNotOpen) {
				return fmt.Errorf("redemption %s, hold %s: %w: %w", r.RedemptionID, r.HoldID, ErrRedemptionHold, err)
			}
			return err
		}
	}
	return nil
}

// CancelRedemptions voids the holds of cancelled redemptions where there are any to void:
// an unknown hold or one already voided is left alone; a captured one is logged (the
// points were redeemed; giving them back is an adjustment, not a void).
func (a *Application) CancelRedemptions(ctx context.Context, tx Tx, rs []Redemption) error {
	for _, r := range rs {
		reason := r.Reason
		if reason == "" {
			reason = "redemption cancelled"
		}
		_, err := a.voidHold(ctx, tx, r.HoldID, reason)
		switch {
		case errors.Is(err, domain.ErrHoldNotFound):
			a.log.InfoContext(ctx, "cancelled redemption has no hold to void", "redemption_id", r.RedemptionID, "hold_id", r.HoldID)
		case errors.Is(err, domain.ErrHoldNotOpen):
			a.log.WarnContext(ctx, "cancelled redemption's hold was already captured", "redemption_id", r.RedemptionID, "hold_id", r.HoldID)
		case err != nil:
			return err
		}
	}
	return nil
}
