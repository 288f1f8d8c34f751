package app

import "context"

// RedactWebhooks removes erased members' data from the webhook deliveries: a pending or
// replayed delivery then sends a body without data.
type RedactWebhooks struct{ store Store }

// Handle returns how many deliveries it redacted.
func (h RedactWebhooks) Handle(ctx context.Context, memberIDs []string) (int, error) {
	var n int
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		n, err = tx.RedactDeliveries(ctx, memberIDs)
		return err
	})
	return n, err
}
