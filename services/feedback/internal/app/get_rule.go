package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// GetRule returns a rule with its versions.
type GetRule struct{ store Store }

// Handle returns the rule and its versions, oldest first; domain.ErrRuleNotFound.
func (h GetRule) Handle(ctx context.Context, id int64) (domain.Rule, []domain.RuleVersion, error) {
	return h.store.Rule(ctx, id)
}
