package app

import (
	"context"

	"github.com/treue/treue/services/survey/internal/domain"
)

// SetTriggerRuleActive switches a rule on or off (its version stays).
type SetTriggerRuleActive struct{ ruleWriter }

// Handle returns the rule, or domain.ErrTriggerRuleNotFound.
func (h *SetTriggerRuleActive) Handle(ctx context.Context, id string, active bool) (domain.TriggerRule, error) {
	var out domain.TriggerRule
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		r, err := tx.LockTriggerRule(ctx, id)
		if err != nil {
			return err
		}
		if r.Active == active {
			out = r
			return nil
		}
		r.Active, r.UpdatedAt = active, h.now().UTC()
		out = r
		return tx.SaveTriggerRule(ctx, r)
	})
	return out, err
}
