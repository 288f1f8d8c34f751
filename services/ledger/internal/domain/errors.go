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
)
