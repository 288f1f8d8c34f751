package app

import (
	"context"
	"fmt"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// CompleteRedemptions captures the holds of completed redemptions.
type CompleteRedemptions struct{ holds }

// Handle captures the holds, idempotently, with a few statements whatever their number,
// and returns the points it captured. A hold that is unknown, voided or expired is
// domain.ErrRedemptionHold.
func (u *CompleteRedemptions) Handle(ctx context.Context, rs []domain.Redemption) (captured int64, err error) {
	err = u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		closed, err := u.closeOpen(ctx, tx, holdIDs(rs), capture)
		if err != nil {
			return err
		}
		captured = capturedPoints(closed)
		for i, c := range closed {
			if c.err != nil {
				return fmt.Errorf("redemption %s, hold %s: %w: %w", rs[i].RedemptionID, rs[i].HoldID, domain.ErrRedemptionHold, c.err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return captured, nil
}
