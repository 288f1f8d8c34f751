package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// MaturePoints makes pending points available once their purchase's return window has
// ended, and pays back the members' debts from them first.
type MaturePoints struct{ *base }

// Handle matures the credits of up to limit lots whose window ended and reports how many
// credits it matured. Each credit matures once (key "mature:<credit>", and its lots stop
// being pending in the same transaction); replicas and a restart after a crash repeat
// nothing.
func (u *MaturePoints) Handle(ctx context.Context, limit int) (n int, err error) {
	err = u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		n = 0
		now := u.clock()
		credits, members, err := tx.MaturingCredits(ctx, now, limit)
		if err != nil || len(credits) == 0 {
			return err
		}
		// Lots change under their members' balance locks; re-read after taking them.
		if _, err := tx.LockMembers(ctx, members); err != nil {
			return err
		}
		lots, err := tx.PendingLotsOf(ctx, credits, now)
		if err != nil {
			return err
		}
		type credit struct {
			member, reference string
			points            int64
		}
		byCredit := map[string]*credit{}
		var order []string
		for i := range lots {
			l := &lots[i]
			c := byCredit[l.CreditTx]
			if c == nil {
				c = &credit{member: l.MemberID, reference: l.Reference}
				byCredit[l.CreditTx] = c
				order = append(order, l.CreditTx)
			}
			c.points += l.Remaining
			l.Pending = false
		}
		var txs []domain.Transaction
		for _, id := range order {
			if c := byCredit[id]; c.points > 0 { // a return in the window may have taken it all
				txs = append(txs, domain.MatureTx(u.newID(), id, c.member, c.reference, now, c.points))
			}
		}
		if err := tx.SaveLots(ctx, lots, now); err != nil {
			return err
		}
		if err := tx.Apply(ctx, txs); err != nil {
			return err
		}
		repaid, err := u.repayDebts(ctx, tx, txs, now)
		if err != nil {
			return err
		}
		n = len(order)
		return tx.Emit(ctx, repaid...)
	})
	return n, err
}
