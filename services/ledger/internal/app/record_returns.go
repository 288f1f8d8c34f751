package app

import (
	"context"
	"fmt"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// RecordReturns books POS returns: each once per (store, return), whatever its event ids.
type RecordReturns struct{ *base }

// Handle books a batch of returns, set-based: a handful of statements whatever its size.
// A return takes back the rate applied to its refund, capped at what its purchase
// credited less earlier returns, from the purchase's member, never below zero (the rest
// is the shortfall). A return of an erased member's purchase debits nothing: the ledger
// books nothing more for a member who asked to leave.
//
// A return whose purchase is unknown fails with domain.ErrPurchaseNotYetKnown while it
// has had fewer than Config.ReturnWaitDeliveries deliveries (the purchase may still
// come); then it is booked from its own amount.
//
// A return that breaks the programme's POS rules is left out and returned among the
// refusals (an error that is domain.ErrRefused, naming it and the rule); the rest of the
// batch is booked.
func (u *RecordReturns) Handle(ctx context.Context, returns []domain.Return) (Booked, error) {
	now := u.clock()
	returns, refusals := admit(returns,
		func(r domain.Return) error {
			return refused("return", r.Key.Reference(), u.cfg.POS.CheckReturn(r, now))
		},
		func(r domain.Return) domain.ReturnKey { return r.Key })
	if len(returns) == 0 {
		return Booked{Refusals: refusals}, nil
	}
	var debited int64
	var booked []domain.Return
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		debited = 0
		keys := make([]domain.PurchaseKey, len(returns))
		for i, r := range returns {
			keys[i] = r.Original()
		}
		originals, err := tx.LockPurchases(ctx, keys)
		if err != nil {
			return err
		}
		// Earning: what each purchase's lines earned, so a return takes back that.
		breakdowns, err := tx.Breakdowns(ctx, keys)
		if err != nil {
			return err
		}
		// Returns take points back from the purchase's member, or else from the member
		// the return names (by member id or by card, email or phone).
		named, err := namedMembers(ctx, tx, orphanRefs(returns, originals))
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(returns))
		for _, r := range returns {
			if o, ok := originals[r.Original()]; ok {
				if o.MemberID != "" {
					ids = append(ids, o.MemberID)
				}
			} else if id := named[r.MemberRef]; id != "" {
				ids = append(ids, id)
			}
		}
		balances, err := tx.LockMembers(ctx, ids)
		if err != nil {
			return err
		}
		lots, err := loadLots(ctx, tx, ids)
		if err != nil {
			return err
		}
		fresh, err := tx.InsertReturns(ctx, returns)
		if err != nil {
			return err
		}
		var (
			txs    []domain.Transaction
			events []domain.Event
			debts  []Debt
		)
		returned := map[domain.PurchaseKey]int64{}
		booked = make([]domain.Return, 0, len(returns))
		for _, r := range returns {
			if !fresh[r.Key] {
				continue
			}
			o, ok := originals[r.Original()]
			credit := "" // the purchase's credit, whose pending points a return takes first
			switch {
			case ok:
				if err := domain.CheckReturnOf(r, o); err != nil {
					return refused("return", r.Key.Reference(), err)
				}
				refund, ok := returnPoints(breakdowns[o.Key], r)
				if !ok {
					if refund, err = u.cfg.POS.Points(r.Currency, r.TotalMinor); err != nil {
						return refused("return", r.Key.Reference(), err)
					}
				}
				r.MemberID, credit = o.MemberID, o.LedgerTxID
				r.Points = domain.ReturnPoints(refund, o.Points, o.PointsReturned)
				o.PointsReturned += r.Points
				originals[o.Key] = o
				returned[o.Key] = o.PointsReturned
			case r.Deliveries < u.cfg.ReturnWaitDeliveries:
				return fmt.Errorf("return %s of purchase %s: %w", r.Key.Reference(), r.Original().Reference(), domain.ErrPurchaseNotYetKnown)
			default:
				r.Orphan = true
				if id := named[r.MemberRef]; id != "" {
					if _, known := balances[id]; known {
						points, err := u.cfg.POS.Points(r.Currency, r.TotalMinor)
						if err != nil {
							return refused("return", r.Key.Reference(), err)
						}
						r.MemberID = id
						r.Points = points
					}
				}
				u.log.WarnContext(ctx, "return booked without its purchase", "return", r.Key.Reference(),
					"purchase", r.Original().Reference(), "member_id", r.MemberID, "points", r.Points)
			}
			// Only members the ledger still books for are locked: not an erased one.
			if _, active := balances[r.MemberID]; active && r.Points > 0 {
				// From the purchase's pending points, then the available balance; the rest is a debt.
				taken, split, debt, err := u.takeBack(lots, &r, credit, balances[r.MemberID], now)
				if err != nil {
					return err
				}
				balances[r.MemberID] -= split.FromAvailable
				txs = append(txs, taken...)
				if debt != nil {
					debts = append(debts, *debt)
				}
				debited += r.Debited
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
		// Tiers: returns lower their members' figures (tiers fall only at evaluation).
		if err := u.lowerQualifying(ctx, tx, returnQualifying(booked, originals, u.cfg.Currency)); err != nil {
			return err
		}
		if len(returned) > 0 {
			if err := tx.SetPointsReturned(ctx, returned); err != nil {
				return err
			}
		}
		if err := lots.save(ctx, tx, now); err != nil {
			return err
		}
		if err := tx.Apply(ctx, txs); err != nil {
			return err
		}
		if err := u.recordDebts(ctx, tx, debts, now); err != nil {
			return err
		}
		return tx.Emit(ctx, events...)
	})
	if err != nil {
		return Booked{Refusals: refusals}, err
	}
	return Booked{Refusals: refusals, Sales: len(booked), Points: debited}, nil
}

// orphanRefs are the member references of the returns whose purchase is unknown.
func orphanRefs(rs []domain.Return, originals map[domain.PurchaseKey]domain.Purchase) []string {
	var refs []string
	for _, r := range rs {
		if _, ok := originals[r.Original()]; !ok && r.MemberRef != "" {
			refs = append(refs, r.MemberRef)
		}
	}
	return refs
}
