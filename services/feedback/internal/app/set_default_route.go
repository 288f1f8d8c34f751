package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// SetDefaultRoute sets where a response no enabled rule matches goes.
type SetDefaultRoute struct{ store Store }

// Handle checks and stores the route.
func (h SetDefaultRoute) Handle(ctx context.Context, d domain.DefaultRoute) (domain.DefaultRoute, error) {
	if err := d.Check(); err != nil {
		return domain.DefaultRoute{}, err
	}
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := checkTeam(ctx, tx, "team", d.Team); err != nil {
			return err
		}
		return tx.SetDefaultRoute(ctx, d)
	})
	if err != nil {
		return domain.DefaultRoute{}, err
	}
	return h.store.DefaultRoute(ctx)
}
