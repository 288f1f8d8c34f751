package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// CreateRule adds a routing rule (version 1, enabled).
type CreateRule struct {
	store Store
	rules RuleCompiler
}

// Handle checks the spec and its condition (a *domain.FieldError naming spec.<field>;
// the condition's with line and column) and stores the rule. A retry with the same
// idempotency key returns the rule it created.
func (h CreateRule) Handle(ctx context.Context, spec domain.RuleSpec, idempotencyKey string) (domain.Rule, error) {
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
		out, _, err = tx.CreateRule(ctx, spec.Rule(), idempotencyKey)
		return err
	})
	return out, err
}
