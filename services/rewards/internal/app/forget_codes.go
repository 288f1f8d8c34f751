package app

import "context"

// ForgetCodesHandler wipes sealed codes whose retry window has passed.
type ForgetCodesHandler struct{ store Store }

// Handle wipes up to limit of them and returns how many it wiped.
func (h ForgetCodesHandler) Handle(ctx context.Context, limit int) (int, error) {
	return inTx(ctx, h.store, func(ctx context.Context, tx Tx) (int, error) {
		return tx.ForgetSealedCodes(ctx, limit)
	})
}
