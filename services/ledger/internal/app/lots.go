package app

import (
	"context"
	"fmt"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// What pending points, lots and debts share between the use cases that move points.

// lotSet is the lots with points left of the members a transaction has locked, changed in
// memory and saved once.
type lotSet struct {
	byMember map[string][]domain.Lot
	changed  map[string]bool // lot ids
}

// loadLots reads the lots of members whose balances tx has locked.
func loadLots(ctx context.Context, tx Tx, memberIDs []string) (*lotSet, error) {
	s := &lotSet{byMember: map[string][]domain.Lot{}, changed: map[string]bool{}}
	if len(memberIDs) == 0 {
		return s, nil
	}
	lots, err := tx.MemberLots(ctx, memberIDs)
	if err != nil {
		return nil, err
	}
	for _, l := range lots {
		s.byMember[l.MemberID] = append(s.byMember[l.MemberID], l)
	}
	return s, nil
}

// burn takes points from the member's pending (or available) lots in spending order,
// those of preferCredit first; onlyCredit keeps to them. It returns what it took from
// each lot and what the lots could not cover.
func (s *lotSet) burn(memberID string, pending bool, preferCredit string, onlyCredit bool, points int64) ([]domain.LotBurn, int64) {
	all := s.byMember[memberID]
	var candidates []domain.Lot
	for _, l := range all {
		if l.Pending == pending && l.Remaining > 0 && (!onlyCredit || l.CreditTx == preferCredit) {
			candidates = append(candidates, l)
		}
	}
	domain.SpendOrder(candidates, preferCredit)
	burns, short := domain.Burn(candidates, points)
	taken := make(map[string]int64, len(burns))
	for _, b := range burns {
		taken[b.LotID] = b.Points
		s.changed[b.LotID] = true
	}
	for i := range all {
		all[i].Remaining -= taken[all[i].ID]
	}
	return burns, short
}

// pendingOf is what is left pending of a credit.
func (s *lotSet) pendingOf(memberID, creditTx string) int64 {
	var n int64
	for _, l := range s.byMember[memberID] {
		if l.Pending && creditTx != "" && l.CreditTx == creditTx {
			n += l.Remaining
		}
	}
	return n
}

func (s *lotSet) save(ctx context.Context, tx Tx, at time.Time) error {
	var out []domain.Lot
	for _, lots := range s.byMember {
		for _, l := range lots {
			if s.changed[l.ID] {
				out = append(out, l)
			}
		}
	}
	return tx.SaveLots(ctx, out, at)
}

// credits collects what a batch credits: the lots it makes, and the credits that reach
// the available balance at once (they pay back debts first).
type credits struct {
	lots      []domain.Lot
	available []domain.Transaction
}

// purchaseCredit is the transaction that credits a purchase's points and its lots: to
// member:<id>:pending while the purchase is in its return window, else to the available
// balance. parts are the credit's shares with their own expiry (nil: all under the
// programme's).
func (b *base) purchaseCredit(p domain.Purchase, parts []domain.LotPart, now time.Time) (domain.Transaction, []domain.Lot) {
	maturesAt, pending := b.cfg.Lots.Maturity(p.OccurredAt, now)
	to := domain.AvailableAccount(p.MemberID)
	if pending {
		to = domain.PendingAccount(p.MemberID)
	}
	t := domain.Transfer(p.LedgerTxID, p.CreditKey(), domain.KindCredit, domain.ReasonPurchase,
		p.Key.Reference(), p.MemberID, now, domain.AccountIssued, to, p.Points)
	return t, b.cfg.Lots.NewLots(p.MemberID, t.ID, t.Reference, p.Points, parts, now, maturesAt, pending, b.newID)
}

// add records a credit transaction t and its lots.
func (c *credits) add(t domain.Transaction, lots []domain.Lot) {
	c.lots = append(c.lots, lots...)
	if len(lots) > 0 && !lots[0].Pending {
		c.available = append(c.available, t)
	}
}

// keepCredits writes the lots of credits already applied, then pays back the debts of
// their members from what reached the available balance. It returns the events of the
// repayments.
func (b *base) keepCredits(ctx context.Context, tx Tx, c credits, now time.Time) ([]domain.Event, error) {
	if err := tx.InsertLots(ctx, c.lots); err != nil {
		return nil, err
	}
	return b.repayDebts(ctx, tx, c.available, now)
}

// repayDebts pays back, from points that just became available (by credits or
// maturations txs, already applied, with their lots written), what their members owe:
// all of it up to the debt, burning their lots as spending does. The members' balances
// must be locked.
func (b *base) repayDebts(ctx context.Context, tx Tx, txs []domain.Transaction, now time.Time) ([]domain.Event, error) {
	if len(txs) == 0 {
		return nil, nil
	}
	type gain struct {
		points int64
		first  domain.Transaction
	}
	gains := map[string]*gain{}
	var ids []string
	for _, t := range txs {
		g := gains[t.MemberID]
		if g == nil {
			g = &gain{first: t}
			gains[t.MemberID] = g
			ids = append(ids, t.MemberID)
		}
		g.points += t.AvailableChange(t.MemberID)
	}
	debts, err := tx.Debts(ctx, ids)
	if err != nil || len(debts) == 0 {
		return nil, err
	}
	debtors := make([]string, 0, len(debts))
	for _, id := range ids {
		if debts[id] > 0 {
			debtors = append(debtors, id)
		}
	}
	lots, err := loadLots(ctx, tx, debtors)
	if err != nil {
		return nil, err
	}
	var (
		repay  []domain.Transaction
		events []domain.Event
	)
	for _, id := range debtors {
		g := gains[id]
		n := domain.Repayment(g.points, debts[id])
		if n == 0 {
			continue
		}
		if _, short := lots.burn(id, false, "", false, n); short > 0 {
			return nil, fmt.Errorf("member %s: lots lack %d of the %d points that repay a debt", id, short, n)
		}
		t := domain.RepayTx(b.newID(), g.first.IdempotencyKey, id, g.first.Reference, now, n)
		repay = append(repay, t)
		// For the programme's figures it is points a return took back, late.
		events = append(events, domain.PointsDebited{TransactionID: t.ID, MemberID: id, Points: n,
			Reason: domain.ReasonReturn, Reference: t.Reference, OccurredAt: now})
	}
	if err := lots.save(ctx, tx, now); err != nil {
		return nil, err
	}
	return events, tx.Apply(ctx, repay)
}

// takeBack decides where a return's points come from (the purchase's points still
// pending, then the available balance, the rest a debt), burns the lots and returns the
// transactions; r gets its Debited, Shortfall and LedgerTxID. available is the
// member's available balance.
func (b *base) takeBack(lots *lotSet, r *domain.Return, creditTx string, available int64, now time.Time) ([]domain.Transaction, domain.ReturnSplit, *Debt, error) {
	split := domain.SplitReturn(r.Points, lots.pendingOf(r.MemberID, creditTx), available)
	r.Debited, r.Shortfall = split.FromPending+split.FromAvailable, split.Debt
	var out []domain.Transaction
	if r.Debited > 0 {
		r.LedgerTxID = b.newID()
		t := domain.Transaction{ID: r.LedgerTxID, IdempotencyKey: r.DebitKey(), Kind: domain.KindDebit, Reason: domain.ReasonReturn,
			Reference: r.Key.Reference(), MemberID: r.MemberID, CreatedAt: now}
		if split.FromPending > 0 {
			if _, short := lots.burn(r.MemberID, true, creditTx, true, split.FromPending); short > 0 {
				return nil, split, nil, fmt.Errorf("return %s: pending lots lack %d points", r.Key.Reference(), short)
			}
			t.Postings = append(t.Postings, domain.Posting{Source: domain.PendingAccount(r.MemberID), Destination: domain.AccountIssued, Amount: split.FromPending})
		}
		if split.FromAvailable > 0 {
			if _, short := lots.burn(r.MemberID, false, creditTx, false, split.FromAvailable); short > 0 {
				return nil, split, nil, fmt.Errorf("return %s: lots lack %d of the available points", r.Key.Reference(), short)
			}
			t.Postings = append(t.Postings, domain.Posting{Source: domain.AvailableAccount(r.MemberID), Destination: domain.AccountIssued, Amount: split.FromAvailable})
		}
		out = append(out, t)
	}
	if split.Debt == 0 {
		return out, split, nil, nil
	}
	d := domain.DebtTx(b.newID(), r.DebitKey(), r.MemberID, r.Key.Reference(), now, split.Debt)
	return append(out, d), split, &Debt{Key: d.IdempotencyKey, MemberID: r.MemberID, Points: split.Debt, Reference: r.Key.Reference(), At: now}, nil
}

// recordDebts keeps new debts and flags the members whose debt repeated within the
// policy's window.
func (b *base) recordDebts(ctx context.Context, tx Tx, debts []Debt, now time.Time) error {
	if len(debts) == 0 {
		return nil
	}
	counts, err := tx.RecordDebts(ctx, debts, now.Add(-b.cfg.Lots.DebtRepeatWindow))
	if err != nil {
		return err
	}
	var flag []string
	for id, n := range counts {
		if domain.RepeatDebtor(n) {
			flag = append(flag, id)
		}
	}
	return tx.FlagDebtors(ctx, flag, now)
}

// takeLots burns, in spending order, the lots a placed hold takes and records them for a
// void to give back. The member's balance must be locked.
func takeLots(ctx context.Context, tx Tx, h domain.Hold, now time.Time) error {
	lots, err := loadLots(ctx, tx, []string{h.MemberID})
	if err != nil {
		return err
	}
	burns, short := lots.burn(h.MemberID, false, "", false, h.Points)
	if short > 0 {
		return fmt.Errorf("hold %s: lots lack %d of the %d available points", h.ID, short, h.Points)
	}
	if err := lots.save(ctx, tx, now); err != nil {
		return err
	}
	return tx.InsertHoldLots(ctx, h.ID, burns)
}

// giveLotsBack returns to their lots the points of holds voided or expired, and says per
// hold how many of them came from lots past their expiry at now: those expire instead
// of coming back.
func giveLotsBack(ctx context.Context, tx Tx, hs []domain.Hold, now time.Time) (map[string]int64, error) {
	var ids []string
	for _, h := range hs {
		if h.Status != domain.StatusCaptured {
			ids = append(ids, h.ID)
		}
	}
	expired := map[string]int64{}
	if len(ids) == 0 {
		return expired, nil
	}
	burns, lots, err := tx.HoldLots(ctx, ids)
	if err != nil {
		return nil, err
	}
	changed := map[string]bool{}
	for _, id := range ids {
		for _, b := range burns[id] {
			l := lots[b.LotID]
			if l.ExpiredAt(now) {
				l.Expired += b.Points
				expired[id] += b.Points
			} else {
				l.Remaining += b.Points
			}
			lots[b.LotID] = l
			changed[l.ID] = true
		}
	}
	out := make([]domain.Lot, 0, len(changed))
	for id := range changed {
		out = append(out, lots[id])
	}
	return expired, tx.SaveLots(ctx, out, now)
}
