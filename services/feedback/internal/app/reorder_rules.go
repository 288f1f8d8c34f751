package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ReorderRules sets the order (priority) of several rules at once: all or none.
type ReorderRules struct{ store Store }

// Handle sets each rule's order; domain.ErrRuleNotFound (nothing changed) if one is
// unknown.
func (h ReorderRules) Handle(ctx context.Context, orders map[int64]int) ([]domain.Rule, error) {
	if len(orders) == 0 {
		return nil, domain.InvalidField("priorities", "at least one rule")
	}
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		return tx.ReorderRules(ctx, orders)
	})
	if err != nil {
		return nil, err
	}
	return h.store.Rules(ctx)
}
