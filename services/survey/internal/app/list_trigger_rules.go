package app

import (
	"context"

	"github.com/treue/treue/services/survey/internal/domain"
)

// ListTriggerRules lists the rules in the order they are tried (priority, then age).
type ListTriggerRules struct{ store Store }

// Handle returns the active rules, or all with includeInactive.
func (h *ListTriggerRules) Handle(ctx context.Context, includeInactive bool) ([]domain.TriggerRule, error) {
	return h.store.ListTriggerRules(ctx, includeInactive)
}
