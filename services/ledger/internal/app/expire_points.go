package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// ExpirePoints expires what is left of lots past their expiry: member → program:expired,
// once per lot.
type ExpirePoints struct{ *base }

// Handle expires up to limit lots in one transaction, a handful of statements whatever
// limit is, and reports how many it expired. Each lot expires once: its transaction's key
// is "expire:<lot>" and its remaining drops to zero in the same transaction, so a crash
// mid-run loses nothing and the next run repeats nothing.
func (u *ExpirePoints) Handle(ctx context.Context, limit int) (n int, err error) {
	err = u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		n = 0
		now := u.clock()
		ids, members, err := tx.ExpiringLots(ctx, now, limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		if _, err := tx.LockMembers(ctx, members); err != nil {
			return err
		}
		// The lots as they were: what is left of each expires.
		lots, err := tx.ExpireLots(ctx, ids, now)
		if err != nil {
			return err
		}
		txs := make([]domain.Transaction, len(lots))
		events := make([]domain.Event, len(lots))
		for i, l := range lots {
			txs[i] = domain.ExpireTx(u.newID(), l, now)
			events[i] = domain.PointsDebited{TransactionID: txs[i].ID, MemberID: l.MemberID, Points: l.Remaining,
				Reason: domain.ReasonExpiry, Reference: l.Reference, OccurredAt: now}
		}
		if err := tx.Apply(ctx, txs); err != nil {
			return err
		}
		n = len(lots)
		return tx.Emit(ctx, events...)
	})
	return n, err
}

// AnnounceExpiries tells members, once per lot, that points will expire: the policy's
// Notice before.
type AnnounceExpiries struct{ *base }

// Handle announces up to limit lots and reports how many. Lots of a member expiring at
// the same moment make one event.
func (u *AnnounceExpiries) Handle(ctx context.Context, limit int) (n int, err error) {
	if u.cfg.Lots.Notice <= 0 {
		return 0, nil
	}
	err = u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		n = 0
		now := u.clock()
		lots, err := tx.LotsToAnnounce(ctx, now, now.Add(u.cfg.Lots.Notice), limit)
		if err != nil || len(lots) == 0 {
			return err
		}
		type key struct {
			member string
			at     time.Time
		}
		sums := map[key]int64{}
		var order []key
		ids := make([]string, len(lots))
		for i, l := range lots {
			ids[i] = l.ID
			k := key{l.MemberID, l.ExpiresAt}
			if _, ok := sums[k]; !ok {
				order = append(order, k)
			}
			sums[k] += l.Remaining
		}
		events := make([]domain.Event, len(order))
		for i, k := range order {
			events[i] = domain.PointsExpiringSoon{MemberID: k.member, Points: sums[k], ExpiresAt: k.at, NotifiedAt: now}
		}
		if err := tx.MarkAnnounced(ctx, ids, now); err != nil {
			return err
		}
		n = len(lots)
		return tx.Emit(ctx, events...)
	})
	return n, err
}
