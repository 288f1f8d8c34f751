package domain

import "errors"

// Errors the ledger's rules produce. Ports map them to their transport's codes.
var (
	ErrMemberNotFound       = errors.New("member not found")
	ErrHoldNotFound         = errors.New("hold not found")
	ErrInsufficientPoints   = errors.New("insufficient points")
	ErrHoldNotOpen          = errors.New("hold is not open")
	ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")
	ErrInvalidPageToken     = errors.New("not a page token this API returned")
	// ErrRedemptionHold: a completed redemption's hold is unknown, voided or expired, so
	// it cannot be captured. No retry helps; an operator must look.
	ErrRedemptionHold = errors.New("redemption's hold cannot be captured")
	// ErrPurchaseNotYetKnown: a return's purchase has not been seen yet. It may still
	// come (a till may publish out of order), so a retry may cure it.
	ErrPurchaseNotYetKnown = errors.New("the return's purchase is not known yet")
)
