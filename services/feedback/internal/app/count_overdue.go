package app

import (
	"context"
	"time"
)

// CountOverdue counts the cases open and past due, for the operators' gauge.
type CountOverdue struct {
	store Store
	clock func() time.Time
}

// Handle returns how many cases are open and past due now.
func (h CountOverdue) Handle(ctx context.Context) (int64, error) {
	return h.store.CountOverdue(ctx, h.clock())
}
