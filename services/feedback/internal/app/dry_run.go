package app

import (
	"context"
	"fmt"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// DryRun routes a sample response as routing would, storing nothing, and explains it.
type DryRun struct {
	store   Store
	rules   RuleCompiler
	stemmer domain.Stemmer // tags the sample's comment; nil tags none
}

// DryRunResult is where the sample would go and which rules were tried.
type DryRunResult struct {
	Route domain.Route
	Facts domain.RoutingFacts
	Tried []domain.RuleTrial
}

// Handle normalises the sample (a *domain.FieldError naming response when it breaks the
// survey contract) and routes it over the rules and facts of now. Facts set in
// override (tier, region) replace those looked up.
func (h DryRun) Handle(ctx context.Context, r domain.Response, override domain.RoutingFacts) (DryRunResult, error) {
	if r.ResponseID == "" {
		r.ResponseID = "dry-run"
	}
	if r.SubmittedAt.IsZero() {
		r.SubmittedAt = time.Unix(0, 0)
	}
	if err := r.Normalize(); err != nil {
		return DryRunResult{}, domain.InvalidField("response", "%v", err)
	}
	rules, err := h.store.Rules(ctx)
	if err != nil {
		return DryRunResult{}, err
	}
	def, err := h.store.DefaultRoute(ctx)
	if err != nil {
		return DryRunResult{}, err
	}
	facts, err := factsFor(ctx, h.store, []domain.Response{r})
	if err != nil {
		return DryRunResult{}, fmt.Errorf("dry run facts: %w", err)
	}
	if h.stemmer != nil && r.Comment != "" {
		taxonomy, err := ListTopics{h.store}.Handle(ctx)
		if err != nil {
			return DryRunResult{}, err
		}
		tagResponses(taxonomy, h.stemmer, []domain.Response{r}, facts)
	}
	f := facts[0]
	if override.Tier != "" {
		f.Tier = override.Tier
	}
	if override.Region != "" {
		f.Region = override.Region
	}
	m := h.rules.Compile(rules)
	rule, ok := m.Match(r, f)
	return DryRunResult{Route: domain.Resolve(rule, ok, def, f), Facts: f, Tried: m.Explain(r, f)}, nil
}
