package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// RouteResponses opens the case each response's first matching rule calls for.
type RouteResponses struct {
	router RuleCompiler
	clock  func() time.Time
	newID  func() string
	log    *slog.Logger
}

// Handle routes responses (already normalised) and stores their cases through store.
// It returns how many cases were opened; a response that already has its case (an event
// delivered twice under two ids) opens none.
func (h RouteResponses) Handle(ctx context.Context, store EventStore, responses []domain.Response) (int, error) {
	rules, err := store.ActiveRules(ctx)
	if err != nil {
		return 0, err
	}
	matcher := h.router.Compile(rules)
	now := h.clock()
	cases := make([]domain.Case, 0, len(responses))
	seen := make(map[string]bool, len(responses))
	for _, r := range responses {
		if seen[r.ResponseID] {
			continue
		}
		seen[r.ResponseID] = true
		rule, ok := matcher.Match(r)
		if !ok {
			continue
		}
		cases = append(cases, domain.OpenCase(h.newID(), r, rule, now))
	}
	if len(cases) == 0 {
		return 0, nil
	}
	n, err := store.OpenCases(ctx, cases)
	if err != nil {
		return 0, err
	}
	h.log.DebugContext(ctx, "responses routed", "responses", len(responses), "cases_opened", n)
	return n, nil
}
