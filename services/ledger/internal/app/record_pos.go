package app

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// ErrPurchaseNotYetKnown is returned for a return whose purchase the ledger has not seen
// yet. It is retryable: events of different subjects are not ordered, so the purchase
// may still come. After Config.ReturnWaitDeliveries deliveries the return is booked from
// its own amount instead.
var ErrPurchaseNotYetKnown = errors.New("the return's purchase is not known yet")

// RecordPOS books a batch of POS purchases and returns inside tx: each purchase once per
// (store, transaction) and each return once per (store, return), whatever their event
// ids. The work is set-based: a handful of statements per batch, whatever its size.
//
// Purchases are booked before returns, so a return finds its purchase in the same batch.
//
// A purchase or return that breaks the programme's POS rules fails the batch with an
// error that is domain.ErrRefused, naming it and the rule: nothing of the batch is
// booked, and the caller must not retry it as it stands.
func (a *Application) RecordPOS(ctx context.Context, tx Tx, purchases []domain.Purchase, returns []domain.Return) error {
	now := a.clock()
	// Refusals first, before any statement: they are the cheap, common failure.
	for _, p := range purchases {
		if err := a.cfg.POS.CheckPurchase(p, now); err != nil {
			return fmt.Errorf("purchase %s refused: %w", p.Key.Reference(), err)
		}
	}
	for _, r := range returns {
		if err := a.cfg.POS.CheckReturn(r, now); err != nil {
			return fmt.Errorf("return %s refused: %w", r.Key.Reference(), err)
		}
	}
	purchases = uniquePurchases(purchases)
	returns = uniqueReturns(returns)

	// Returns take points back from the purchase's member, so their purchases come first.
	originals := map[domain.PurchaseKey]domain.Purchase{}
	if len(returns) > 0 {
		keys := make([]domain.PurchaseKey, len(returns))
		for i, r := range returns {
			keys[i] = r.Original()
		}
		var err error
		if originals, err = tx.LockPurchases(ctx, keys); err != nil {
			return err
		}
	}
	// The member each purchase names, when it names one by a UUID.
	canonicalMember := make(map[domain.PurchaseKey]string, len(purchases))
	var ids []string
	for _, p := range purchases {
		if id, ok := domain.CanonicalUUID(p.MemberRef); ok {
			ids = append(ids, id)
			canonicalMember[p.Key] = id
		}
	}
	for _, r := range returns {
		if o, ok := originals[r.Original()]; ok {
			if o.MemberID != "" {
				ids = append(ids, o.MemberID)
			}
		} else if id, ok := domain.CanonicalUUID(r.MemberRef); ok {
			ids = append(ids, id)
		}
	}
	balances, err := tx.LockMembers(ctx, ids)
	if err != nil {
		return err
	}

	var (
		txs       []domain.Transaction
		events    []domain.Event
		unmatched []domain.Purchase
	)
	if len(purchases) > 0 {
		for i := range purchases {
			p := &purchases[i]
			if id := canonicalMember[p.Key]; id != "" {
				if _, known := balances[id]; known {
					p.MemberID = id
					points, err := a.cfg.POS.Points(p.Currency, p.TotalMinor)
					if err != nil {
						return fmt.Errorf("purchase %s refused: %w", p.Key.Reference(), err)
					}
					p.Points = points
				}
			}
			if p.Points > 0 {
				p.LedgerTxID = a.newID()
			}
		}
		fresh, err := tx.InsertPurchases(ctx, purchases)
		if err != nil {
			return err
		}
		for _, p := range purchases {
			returned, ok := fresh[p.Key]
			if !ok {
				continue // booked before, under another event id
			}
			p.PointsReturned = returned
			originals[p.Key] = p
			switch {
			case p.Points > 0:
				if balances[p.MemberID], err = domain.AddPoints(balances[p.MemberID], p.Points); err != nil {
					return fmt.Errorf("purchase %s refused: %w", p.Key.Reference(), err)
				}
				t := domain.Transfer(p.LedgerTxID, p.CreditKey(), domain.KindCredit, domain.ReasonPurchase,
					p.Key.Reference(), p.MemberID, now, domain.AccountIssued, domain.AvailableAccount(p.MemberID), p.Points)
				txs = append(txs, t)
				events = append(events, creditEvent(t, p.Points, p.Key.StoreID))
			case p.MemberID == "" && p.MemberRef != "":
				unmatched = append(unmatched, p)
				events = append(events, domain.PurchaseUnmatched{Purchase: p})
			}
		}
		if len(unmatched) > 0 {
			if err := tx.InsertUnmatched(ctx, unmatched); err != nil {
				return err
			}
		}
	}

	if len(returns) > 0 {
		fresh, err := tx.InsertReturns(ctx, returns)
		if err != nil {
			return err
		}
		returned := map[domain.PurchaseKey]int64{}
		booked := make([]domain.Return, 0, len(returns))
		for _, r := range returns {
			if !fresh[r.Key] {
				continue
			}
			o, ok := originals[r.Original()]
			switch {
			case ok:
				if err := domain.CheckReturnOf(r, o); err != nil {
					return fmt.Errorf("return %s refused: %w", r.Key.Reference(), err)
				}
				refund, err := a.cfg.POS.Points(r.Currency, r.TotalMinor)
				if err != nil {
					return fmt.Errorf("return %s refused: %w", r.Key.Reference(), err)
				}
				r.MemberID = o.MemberID
				r.Points = domain.ReturnPoints(refund, o.Points, o.PointsReturned)
				o.PointsReturned += r.Points
				originals[o.Key] = o
				returned[o.Key] = o.PointsReturned
			case r.Deliveries < a.cfg.ReturnWaitDeliveries:
				return fmt.Errorf("return %s of purchase %s: %w", r.Key.Reference(), r.Original().Reference(), ErrPurchaseNotYetKnown)
			default:
				r.Orphan = true
				if id, ok := domain.CanonicalUUID(r.MemberRef); ok {
					if _, known := balances[id]; known {
						points, err := a.cfg.POS.Points(r.Currency, r.TotalMinor)
						if err != nil {
							return fmt.Errorf("return %s refused: %w", r.Key.Reference(), err)
						}
						r.MemberID = id
						r.Points = points
					}
				}
				a.log.WarnContext(ctx, "return booked without its purchase", "return", r.Key.Reference(),
					"purchase", r.Original().Reference(), "member_id", r.MemberID, "points", r.Points)
			}
			if r.MemberID != "" && r.Points > 0 {
				r.Debited, r.Shortfall = domain.SplitDebit(r.Points, balances[r.MemberID])
				balances[r.MemberID] -= r.Debited
				if r.Debited > 0 {
					r.LedgerTxID = a.newID()
					txs = append(txs, domain.Transfer(r.LedgerTxID, r.DebitKey(), domain.KindDebit, domain.ReasonReturn,
						r.Key.Reference(), r.MemberID, now, domain.AvailableAccount(r.MemberID), domain.AccountIssued, r.Debited))
				}
				events = append(events, domain.PointsDebited{
					TransactionID: r.LedgerTxID, MemberID: r.MemberID, Points: r.Debited, Shortfall: r.Shortfall,
					Reason: domain.ReasonReturn, Reference: r.Key.Reference(), StoreID: r.Key.StoreID, OccurredAt: now,
				})
			}
			booked = append(booked, r)
		}
		if err := tx.SaveReturnOutcomes(ctx, booked); err != nil {
			return err
		}
		if len(returned) > 0 {
			if err := tx.SetPointsReturned(ctx, returned); err != nil {
				return err
			}
		}
	}

	if err := tx.Apply(ctx, txs); err != nil {
		return err
	}
	return tx.Emit(ctx, events...)
}

func creditEvent(t domain.Transaction, points int64, storeID string) domain.PointsCredited {
	return domain.PointsCredited{
		TransactionID: t.ID, MemberID: t.MemberID, Points: points, Reason: t.Reason,
		Reference: t.Reference, StoreID: storeID, OccurredAt: t.CreatedAt,
	}
}

// uniquePurchases keeps the first of each (store, transaction): a POS that published a
// sale twice under different event ids may have both in one batch.
func uniquePurchases(ps []domain.Purchase) []domain.Purchase {
	seen := make(map[domain.PurchaseKey]bool, len(ps))
	return slices.DeleteFunc(ps, func(p domain.Purchase) bool {
		dup := seen[p.Key]
		seen[p.Key] = true
		return dup
	})
}

func uniqueReturns(rs []domain.Return) []domain.Return {
	seen := make(map[domain.ReturnKey]bool, len(rs))
	return slices.DeleteFunc(rs, func(r domain.Return) bool {
		dup := seen[r.Key]
		seen[r.Key] = true
		return dup
	})
}
