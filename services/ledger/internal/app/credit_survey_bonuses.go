package app

import (
	"context"
	"slices"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// CreditSurveyBonuses credits the survey bonus once per response.
type CreditSurveyBonuses struct{ *base }

// Handle credits the bonus of each response once (idempotency key "survey:<response
// id>") and returns the points it credited. An anonymous response earns nothing, nor
// does one of an unknown or erased member.
func (u *CreditSurveyBonuses) Handle(ctx context.Context, responses []domain.SurveyResponse) (int64, error) {
	if u.cfg.SurveyBonusPoints == 0 {
		return 0, nil
	}
	responses = slices.DeleteFunc(responses, func(r domain.SurveyResponse) bool { return r.MemberRef == "" })
	if len(responses) == 0 {
		return 0, nil
	}
	var credited int64
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		ids := make([]string, 0, len(responses))
		for _, r := range responses {
			if id, ok := domain.CanonicalUUID(r.MemberRef); ok {
				ids = append(ids, id)
			}
		}
		balances, err := tx.LockMembers(ctx, ids)
		if err != nil {
			return err
		}
		now := u.clock()
		storeOf := make(map[string]string, len(responses))
		txs := make([]domain.Transaction, 0, len(responses))
		for _, r := range responses {
			id, _ := domain.CanonicalUUID(r.MemberRef)
			if _, known := balances[id]; !known {
				u.log.InfoContext(ctx, "survey response of an unknown member earns no bonus", "response_id", r.ResponseID, "member_ref", r.MemberRef)
				continue
			}
			txs = append(txs, domain.Transfer(u.newID(), "survey:"+r.ResponseID, domain.KindCredit, domain.ReasonSurveyBonus,
				r.ResponseID, id, now, domain.AccountIssued, domain.AvailableAccount(id), u.cfg.SurveyBonusPoints))
			storeOf[r.ResponseID] = r.StoreID
		}
		applied, err := tx.ApplyOnce(ctx, txs)
		if err != nil {
			return err
		}
		credited = int64(len(applied)) * u.cfg.SurveyBonusPoints
		events := make([]domain.Event, len(applied))
		var bonuses credits
		for i, t := range applied {
			events[i] = creditEvent(t, u.cfg.SurveyBonusPoints, storeOf[t.Reference])
			bonuses.add(t, u.cfg.Lots.NewLots(t.MemberID, t.ID, t.Reference, u.cfg.SurveyBonusPoints, nil, now, time.Time{}, false, u.newID))
		}
		repaid, err := u.keepCredits(ctx, tx, bonuses, now)
		if err != nil {
			return err
		}
		return tx.Emit(ctx, append(events, repaid...)...)
	})
	if err != nil {
		return 0, err
	}
	return credited, nil
}
