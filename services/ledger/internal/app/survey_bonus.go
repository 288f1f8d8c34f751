package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// SurveyResponse is a submitted survey response, as far as the ledger cares.
type SurveyResponse struct {
	ResponseID string
	MemberRef  string
	StoreID    string
}

// CreditSurveyBonuses credits the survey bonus once per response (idempotency key
// "survey:<response id>"). A response of an unknown member earns nothing.
func (a *Application) CreditSurveyBonuses(ctx context.Context, tx Tx, responses []SurveyResponse) error {
	if a.cfg.SurveyBonusPoints == 0 || len(responses) == 0 {
		return nil
	}
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
	now := a.clock()
	storeOf := make(map[string]string, len(responses))
	txs := make([]domain.Transaction, 0, len(responses))
	for _, r := range responses {
		id, _ := domain.CanonicalUUID(r.MemberRef)
		if _, known := balances[id]; !known {
			a.log.InfoContext(ctx, "survey response of an unknown member earns no bonus", "response_id", r.ResponseID, "member_ref", r.MemberRef)
			continue
		}
		txs = append(txs, domain.Transfer(a.newID(), "survey:"+r.ResponseID, domain.KindCredit, domain.ReasonSurveyBonus,
			r.ResponseID, id, now, domain.AccountIssued, domain.AvailableAccount(id), a.cfg.SurveyBonusPoints))
		storeOf[r.ResponseID] = r.StoreID
	}
	applied, err := tx.ApplyOnce(ctx, txs)
	if err != nil {
		return err
	}
	events := make([]domain.Event, len(applied))
	for i, t := range applied {
		events[i] = creditEvent(t, a.cfg.SurveyBonusPoints, storeOf[t.Reference])
	}
	return tx.Emit(ctx, events...)
}
