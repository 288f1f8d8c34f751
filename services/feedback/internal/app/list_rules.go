package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ListRules returns every rule in evaluation order, and the default route.
type ListRules struct{ store Store }

// Handle returns the rules and the default route.
func (h ListRules) Handle(ctx context.Context) ([]domain.Rule, domain.DefaultRoute, error) {
	rules, err := h.store.Rules(ctx)
	if err != nil {
		return nil, domain.DefaultRoute{}, err
	}
	d, err := h.store.DefaultRoute(ctx)
	return rules, d, err
}
