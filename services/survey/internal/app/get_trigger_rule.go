package app

import (
	"context"

	"github.com/treue/treue/services/survey/internal/domain"
)

// GetTriggerRule reads one rule.
type GetTriggerRule struct{ store Store }

// Handle returns the rule or domain.ErrTriggerRuleNotFound.
func (h *GetTriggerRule) Handle(ctx context.Context, id string) (domain.TriggerRule, error) {
	return h.store.TriggerRule(ctx, id)
}
