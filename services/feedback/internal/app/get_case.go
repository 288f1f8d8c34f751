package app

import (
	"context"
	"time"
)

// GetCase reads one case.
type GetCase struct {
	store Store
	clock func() time.Time
}

// Handle returns the case with its history and notes, or domain.ErrCaseNotFound or
// ErrNotYourTeam.
func (h GetCase) Handle(ctx context.Context, id string, a Actor) (CaseView, error) {
	c, err := h.store.Case(ctx, id)
	if err != nil {
		return CaseView{}, err
	}
	if !a.May(c.Team) {
		return CaseView{}, ErrNotYourTeam
	}
	v := view(c, h.clock())
	if v.History, err = h.store.History(ctx, id); err != nil {
		return CaseView{}, err
	}
	if v.Notes, err = h.store.Notes(ctx, id); err != nil {
		return CaseView{}, err
	}
	if v.TouchpointKey, err = h.store.TouchpointKey(ctx, v.ResponseID); err != nil {
		return CaseView{}, err
	}
	if v.MemberID != "" && a.MaySeeCustomer() {
		if v.Customer, err = h.store.Customer(ctx, v.MemberID); err != nil {
			return CaseView{}, err
		}
	}
	if v.GoodwillReward, err = h.store.GoodwillReward(ctx, id); err != nil {
		return CaseView{}, err
	}
	views := []CaseView{v}
	return views[0], withLoop(ctx, h.store, views)
}
