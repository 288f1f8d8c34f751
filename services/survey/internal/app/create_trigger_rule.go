package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/treue/treue/services/survey/internal/domain"
)

// CreateTriggerRule stores a new trigger rule (version 1); a retry with the same
// idempotency key returns the rule the first call stored (as it is now); the same key
// with another request is refused.
type CreateTriggerRule struct{ ruleWriter }

// Handle checks the rule (its condition compiles to a bool, its survey exists) and
// stores it.
func (h *CreateTriggerRule) Handle(ctx context.Context, idempotencyKey string, spec domain.TriggerRule, active bool) (domain.TriggerRule, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return domain.TriggerRule{}, err
	}
	now := h.now().UTC()
	r := spec.Normalize()
	r.ID, r.Version, r.Active, r.CreatedAt, r.UpdatedAt = id.String(), 1, active, now, now
	var out domain.TriggerRule
	err = h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := h.check(ctx, tx, r); err != nil {
			return err
		}
		hash := r.RequestHash()
		stored, storedHash, created, err := tx.CreateTriggerRule(ctx, r, idempotencyKey, hash)
		if err != nil {
			return err
		}
		if !created && storedHash != hash {
			return domain.ErrIdempotencyKeyReused
		}
		out = stored
		return nil
	})
	return out, err
}
