package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// UpdateRule replaces a rule's content: a new immutable version (cases opened by the
// earlier one keep naming it).
type UpdateRule struct {
	store Store
	rules RuleCompiler
}

// Handle checks the spec as CreateRule does and returns the rule as stored;
// domain.ErrRuleNotFound.
func (h UpdateRule) Handle(ctx context.Context, id int64, spec domain.RuleSpec) (domain.Rule, error) {
	if err := spec.Check(); err != nil {
		return domain.Rule{}, err
	}
	if err := h.rules.Check(spec.Condition); err != nil {
		return domain.Rule{}, err
	}
	var out domain.Rule
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := checkTeam(ctx, tx, "spec.team", spec.Team); err != nil {
			return err
		}
		var err error
		out, err = tx.UpdateRule(ctx, id, spec.Rule())
		return err
	})
	return out, err
}
