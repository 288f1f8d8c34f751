package app

import (
	"context"
	"slices"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// GoodwillTx keeps the goodwill budget and the grants it decided.
type GoodwillTx interface {
	// LockGoodwillBudget locks the month's goodwill budget row (making it at first use)
	// and returns the points grants booked in that month. Every goodwill booking takes
	// this lock, so two batches cannot both spend the last of a budget.
	LockGoodwillBudget(ctx context.Context, month time.Time) (used int64, err error)
	// GoodwillDecided returns which of the grants were decided before (booked or not).
	GoodwillDecided(ctx context.Context, grantIDs []string) (map[string]bool, error)
	// SaveGoodwill records decided grants and the month's new usage.
	SaveGoodwill(ctx context.Context, month time.Time, used int64, decided []GoodwillDecision) error
}

// GoodwillDecision is what became of one grant.
type GoodwillDecision struct {
	Grant         domain.GoodwillGrant
	MemberID      string // canonical, "" when the reference is no member id
	Outcome       domain.GoodwillOutcome
	TransactionID string // of the booking; "" when nothing was booked
	At            time.Time
}

// GrantGoodwill books the goodwill points resolved feedback cases granted.
type GrantGoodwill struct{ *base }

// Handle books each grant once (idempotency key "goodwill:<case id>"), from
// domain.AccountGoodwill to the member's available points, while the month's goodwill
// budget (Config.GoodwillBudget, 0 for none) allows it; a grant beyond the budget is
// recorded as refused and announced (ledger.goodwill.refused), and one of an unknown or
// erased member is recorded and booked nowhere. A grant decided before is skipped, so a
// redelivered grant changes nothing. It returns the points it booked.
func (u *GrantGoodwill) Handle(ctx context.Context, grants []domain.GoodwillGrant) (int64, error) {
	// A grant of a coupon reward only (points 0) is the rewards service's to issue: the
	// ledger books nothing and records no decision for it.
	grants = slices.DeleteFunc(slices.Clone(grants), func(g domain.GoodwillGrant) bool { return g.Points <= 0 })
	if len(grants) == 0 {
		return 0, nil
	}
	var booked int64
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		now := u.clock()
		month := domain.MonthOf(now)
		used, err := tx.LockGoodwillBudget(ctx, month)
		if err != nil {
			return err
		}
		ids := make([]string, len(grants))
		memberIDs := make([]string, 0, len(grants))
		for i, g := range grants {
			ids[i] = g.GrantID
			if id, ok := domain.CanonicalUUID(g.MemberRef); ok {
				memberIDs = append(memberIDs, id)
			}
		}
		decidedBefore, err := tx.GoodwillDecided(ctx, ids)
		if err != nil {
			return err
		}
		balances, err := tx.LockMembers(ctx, memberIDs)
		if err != nil {
			return err
		}
		budget := domain.GoodwillBudget{Month: month, Limit: u.cfg.GoodwillBudget, Used: used}
		var (
			decisions []GoodwillDecision
			txs       []domain.Transaction
			events    []domain.Event
			seen      = map[string]bool{}
		)
		for _, g := range grants {
			if decidedBefore[g.GrantID] || seen[g.GrantID] {
				continue
			}
			seen[g.GrantID] = true
			d := GoodwillDecision{Grant: g, At: now}
			d.MemberID, _ = domain.CanonicalUUID(g.MemberRef)
			before := budget
			switch _, known := balances[d.MemberID]; {
			case !known:
				d.Outcome = domain.GoodwillMemberGone
				u.log.InfoContext(ctx, "goodwill for an unknown or erased member books nothing", "case_id", g.CaseID)
			case !budget.Take(g.Points):
				d.Outcome = domain.GoodwillBudgetExhausted
				events = append(events, domain.GoodwillRefused{Grant: g, Budget: before, At: now})
			default:
				d.Outcome = domain.GoodwillBooked
				t := domain.Transfer(u.newID(), g.IdempotencyKey(), domain.KindCredit, domain.ReasonGoodwill, g.CaseID, d.MemberID, now,
					domain.AccountGoodwill, domain.AvailableAccount(d.MemberID), g.Points)
				d.TransactionID = t.ID
				txs = append(txs, t)
			}
			decisions = append(decisions, d)
		}
		applied, err := tx.ApplyOnce(ctx, txs)
		if err != nil {
			return err
		}
		var kept credits
		for _, t := range applied {
			points := t.Postings[0].Amount
			booked += points
			events = append(events, creditEvent(t, points, ""))
			kept.add(t, u.cfg.Lots.NewLots(t.MemberID, t.ID, t.Reference, points, nil, now, time.Time{}, false, u.newID))
		}
		repaid, err := u.keepCredits(ctx, tx, kept, now)
		if err != nil {
			return err
		}
		if err := tx.SaveGoodwill(ctx, month, budget.Used, decisions); err != nil {
			return err
		}
		return tx.Emit(ctx, append(events, repaid...)...)
	})
	if err != nil {
		return 0, err
	}
	return booked, nil
}
