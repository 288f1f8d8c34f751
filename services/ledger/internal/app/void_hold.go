package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// VoidHold gives held points back to the member.
type VoidHold struct{ holds }

// Handle voids the hold. Voiding a voided or expired hold returns it unchanged; a
// captured one is domain.ErrHoldNotOpen, an unknown one domain.ErrHoldNotFound.
func (u *VoidHold) Handle(ctx context.Context, id, reason string) (hold domain.Hold, voided bool, err error) {
	return u.closeOne(ctx, id, func(h *domain.Hold, now time.Time) (bool, error) { return h.Void(now, reason) })
}
