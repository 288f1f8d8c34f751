package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// CaptureHold redeems held points (hold → program:redeemed).
type CaptureHold struct{ holds }

// Handle captures the hold; captured says this call captured it. Capturing a captured
// hold returns it unchanged; a voided or expired one is domain.ErrHoldNotOpen, an
// unknown one domain.ErrHoldNotFound.
func (u *CaptureHold) Handle(ctx context.Context, id string) (hold domain.Hold, captured bool, err error) {
	return u.closeOne(ctx, id, capture)
}
