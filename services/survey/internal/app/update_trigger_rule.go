package app

import (
	"context"

	"github.com/treue/treue/services/survey/internal/domain"
)

// UpdateTriggerRule replaces a rule's settings: a new version of the rule. Invitations
// already scheduled keep the version that made them.
type UpdateTriggerRule struct{ ruleWriter }

// Handle returns the new version, or domain.ErrTriggerRuleNotFound.
func (h *UpdateTriggerRule) Handle(ctx context.Context, id string, spec domain.TriggerRule) (domain.TriggerRule, error) {
	var out domain.TriggerRule
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		cur, err := tx.LockTriggerRule(ctx, id)
		if err != nil {
			return err
		}
		r := spec.Normalize()
		r.ID, r.Version, r.Active, r.CreatedAt, r.UpdatedAt = cur.ID, cur.Version+1, cur.Active, cur.CreatedAt, h.now().UTC()
		if err := h.check(ctx, tx, r); err != nil {
			return err
		}
		out = r
		return tx.SaveTriggerRule(ctx, r)
	})
	return out, err
}
