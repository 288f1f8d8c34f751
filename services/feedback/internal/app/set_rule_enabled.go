package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// SetRuleEnabled enables or disables a rule; a disabled rule is skipped by routing. It
// writes no new version.
type SetRuleEnabled struct{ store Store }

// Handle returns the rule as stored; domain.ErrRuleNotFound.
func (h SetRuleEnabled) Handle(ctx context.Context, id int64, enabled bool) (domain.Rule, error) {
	var out domain.Rule
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		out, err = tx.SetRuleEnabled(ctx, id, enabled)
		return err
	})
	return out, err
}
