package app

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

// RecordCustomEvents credits custom events by the live rules triggered by their type.
type RecordCustomEvents struct{ *base }

// Handle credits each event once (idempotency key its reference), set-based: the
// members locked, their usage counters read and the budgeted campaigns locked once for
// the batch. An event of an unknown or erased member, or one no rule rewards, credits
// nothing; a rule's limit (once, or once a day, month or year) counts the awards it gave.
func (u *RecordCustomEvents) Handle(ctx context.Context, evs []earn.CustomEvent) (int64, error) {
	var credited int64
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		credited = 0
		set, cached, err := u.liveRules(ctx, tx)
		if err != nil || set.Len() == 0 {
			return err
		}
		eng := u.earning.engine
		ids := make([]string, 0, len(evs))
		for _, ev := range evs {
			if id, ok := domain.CanonicalUUID(ev.MemberRef); ok {
				ids = append(ids, id)
			}
		}
		balances, err := tx.LockMembers(ctx, ids)
		if err != nil {
			return err
		}
		var keys []earn.UsageKey
		campaigns := maps.Clone(cached)
		var lock []string
		for _, ev := range evs {
			id, _ := domain.CanonicalUUID(ev.MemberRef)
			keys = append(keys, eng.UsageKeys(set, id, ev.OccurredAt)...)
			for cid, c := range cached {
				if c.Budget > 0 && c.Targets(ev.Source, "", ev.OccurredAt) {
					lock = append(lock, cid)
				}
			}
		}
		profiles, err := tx.MemberProfiles(ctx, ids)
		if err != nil {
			return err
		}
		usage, err := tx.Usage(ctx, keys)
		if err != nil {
			return err
		}
		locked, err := tx.LockCampaigns(ctx, lock)
		if err != nil {
			return err
		}
		maps.Copy(campaigns, locked)
		now := u.clock()
		var (
			txs  []domain.Transaction
			byTx = map[string]credit{}
		)
		for _, ev := range evs {
			id, _ := domain.CanonicalUUID(ev.MemberRef)
			if _, known := balances[id]; !known {
				u.log.InfoContext(ctx, "custom event of an unknown member earns nothing", "event", ev.Reference(), "member_ref", ev.MemberRef)
				continue
			}
			x, warnings := eng.EvaluateEvent(set, earn.EventInput{Type: ev.Type, Source: ev.Source, Attributes: ev.Attributes,
				At: ev.OccurredAt, Member: profiles[id], Usage: usage, Campaigns: campaigns})
			for _, w := range warnings {
				u.log.WarnContext(ctx, "earning rule failed to evaluate; treated as not matching", "event", ev.Reference(), "err", w)
			}
			if x.Total <= 0 {
				continue
			}
			for cid, n := range x.Spent() {
				c := campaigns[cid]
				c.Spent += n
				campaigns[cid] = c
			}
			t := domain.Transfer(u.newID(), ev.Reference(), domain.KindCredit, domain.ReasonCustomEvent, ev.Reference(), id, now,
				domain.AccountIssued, domain.AvailableAccount(id), x.Total)
			txs = append(txs, t)
			byTx[t.ID] = credit{t.ID, ev.Reference(), x, eng.Record(usage, set, id, ev.OccurredAt, x)}
		}
		// The key guards a redelivery the inbox did not catch (the same event id sent
		// through another subject, say): those skipped store nothing.
		applied, err := tx.ApplyOnce(ctx, txs)
		if err != nil {
			return err
		}
		stored := make([]credit, 0, len(applied))
		events := make([]domain.Event, 0, len(applied))
		var available credits
		for _, t := range applied {
			c := byTx[t.ID]
			stored = append(stored, c)
			credited += c.x.Total
			events = append(events, creditEvent(t, c.x.Total, ""))
			// Available at once (nothing to return), one lot per expiry.
			available.add(t, u.cfg.Lots.NewLots(t.MemberID, t.ID, t.Reference, c.x.Total, lotParts(c.x), now, time.Time{}, false, u.newID))
		}
		repaid, err := u.keepCredits(ctx, tx, available, now)
		if err != nil {
			return err
		}
		more, err := u.storeCredits(ctx, tx, campaigns, stored)
		if err != nil {
			return err
		}
		return tx.Emit(ctx, slices.Concat(events, repaid, more)...)
	})
	return credited, err
}
