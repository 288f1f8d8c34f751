package app

import (
	"context"
)

// ExpireHolds gives back the points of placed holds past their expiry.
type ExpireHolds struct{ holds }

// Handle expires up to limit holds and reports how many it expired. Replicas share the
// work: holds another transaction has locked are skipped.
func (u *ExpireHolds) Handle(ctx context.Context, limit int) (n int, err error) {
	err = u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		now := u.clock()
		hs, err := tx.LockExpiredHolds(ctx, now, limit)
		if err != nil {
			return err
		}
		expired := hs[:0]
		for _, h := range hs {
			if h.Expire(now) {
				expired = append(expired, h)
			}
		}
		n = len(expired)
		return u.book(ctx, tx, expired)
	})
	return n, err
}
