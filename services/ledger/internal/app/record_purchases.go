package app

import (
	"context"
	"slices"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// RecordPurchases books POS purchases: each once per (store, transaction), whatever its
// event ids.
type RecordPurchases struct{ *base }

// Handle books a batch of purchases, set-based: a handful of statements whatever its
// size. A purchase of a member the ledger knows earns points; one of an unknown or erased
// member (or a member reference that is no UUID) is kept unmatched and announced, never
// credited; an anonymous one is recorded and earns nothing.
//
// A purchase that breaks the programme's POS rules is left out and returned among the
// refusals (an error that is domain.ErrRefused, naming it and the rule); the rest of the
// batch is booked.
func (u *RecordPurchases) Handle(ctx context.Context, purchases []domain.Purchase) (Booked, error) {
	now := u.clock()
	purchases, refusals := admit(purchases,
		func(p domain.Purchase) error {
			return refused("purchase", p.Key.Reference(), u.cfg.POS.CheckPurchase(p, now))
		},
		func(p domain.Purchase) domain.PurchaseKey { return p.Key })
	booked := Booked{Refusals: refusals}
	if len(purchases) == 0 {
		return booked, nil
	}
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		// (1) The member each purchase names, by member id or by card, email or phone.
		named, err := namedMembers(ctx, tx, purchaseRefs(purchases))
		if err != nil {
			return err
		}
		balances, err := tx.LockMembers(ctx, memberIDs(named))
		if err != nil {
			return err
		}
		for i := range purchases {
			p := &purchases[i]
			if id := named[p.MemberRef]; id != "" {
				if _, known := balances[id]; known {
					p.MemberID = id
				}
			}
		}
		// Earning: the points of each purchase of a known member, by the live rules.
		earnings, err := u.earnPoints(ctx, tx, purchases)
		if err != nil {
			return err
		}
		for i := range purchases {
			if purchases[i].Points > 0 {
				purchases[i].LedgerTxID = u.newID()
			}
		}
		fresh, err := tx.InsertPurchases(ctx, purchases)
		if err != nil {
			return err
		}
		var (
			txs       []domain.Transaction
			events    []domain.Event
			unmatched []domain.Purchase
			credits   credits
			credited  []domain.Purchase
		)
		for _, p := range purchases {
			if _, ok := fresh[p.Key]; !ok {
				continue // booked before, under another event id
			}
			booked.Sales++
			booked.Points += p.Points
			switch {
			case p.Points > 0:
				if balances[p.MemberID], err = domain.AddPoints(balances[p.MemberID], p.Points); err != nil {
					return refused("purchase", p.Key.Reference(), err)
				}
				// Pending through the return window, else available; one lot per expiry.
				t, lots := u.purchaseCredit(p, earnings.lotParts(p.Key), now)
				credits.add(t, lots)
				txs = append(txs, t)
				events = append(events, creditEvent(t, p.Points, p.Key.StoreID))
				credited = append(credited, p)
			case p.MemberID == "" && p.MemberRef != "":
				unmatched = append(unmatched, p)
				events = append(events, domain.PurchaseUnmatched{Purchase: p})
			}
			// A member named by card, email or phone: the services that need the member's
			// id learn it (once: only a fresh purchase gets here).
			if p.MatchedByIdentifier() {
				events = append(events, domain.PurchaseMatched{Purchase: p})
			}
		}
		if len(unmatched) > 0 {
			if err := tx.InsertUnmatched(ctx, unmatched); err != nil {
				return err
			}
		}
		if err := tx.Apply(ctx, txs); err != nil {
			return err
		}
		// Lots, and debts paid back from what reached the available balance.
		repaid, err := u.keepCredits(ctx, tx, credits, now)
		if err != nil {
			return err
		}
		// The credits' breakdowns, the caps' counters and the campaigns' budgets.
		earnEvents, err := u.storeEarnings(ctx, tx, earnings, credited)
		if err != nil {
			return err
		}
		if err := tx.Emit(ctx, slices.Concat(events, repaid, earnEvents)...); err != nil {
			return err
		}
		// Tiers: the batch's figures, and the members they lift upgraded at once.
		return u.qualifyAndUpgrade(ctx, tx, purchaseQualifying(purchases, fresh, u.cfg.Currency))
	})
	if err != nil {
		return Booked{Refusals: refusals}, err
	}
	return booked, nil
}

func creditEvent(t domain.Transaction, points int64, storeID string) domain.PointsCredited {
	return domain.PointsCredited{
		TransactionID: t.ID, MemberID: t.MemberID, Points: points, Reason: t.Reason,
		Reference: t.Reference, StoreID: storeID, OccurredAt: t.CreatedAt,
	}
}

func purchaseRefs(ps []domain.Purchase) []string {
	refs := make([]string, len(ps))
	for i, p := range ps {
		refs[i] = p.MemberRef
	}
	return refs
}
