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

// Handle returns the case, or domain.ErrCaseNotFound.
func (h GetCase) Handle(ctx context.Context, id string) (CaseView, error) {
	c, err := h.store.Case(ctx, id)
	if err != nil {
		return CaseView{}, err
	}
	views := []CaseView{{Case: c, Overdue: c.Overdue(h.clock())}}
	return views[0], withLoop(ctx, h.store, views)
}
