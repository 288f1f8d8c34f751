package routing_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/treue/treue/services/feedback/internal/adapters/routing"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// FuzzRuleCondition feeds hostile conditions and responses to the engine: nothing
// panics, a condition is in the rule set exactly when Check accepts it, and matching
// ends (the cost limit stops a runaway comprehension) with an answer that is one of the
// rules given.
func FuzzRuleCondition(f *testing.F) {
	for _, seed := range []string{
		`response.nps_class == "DETRACTOR"`,
		`score <= 6 && comment.contains("refund")`,
		`[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, a+b+c > 0)))`,
		`comment.matches("(a+)+$")`,
		`1 / (score - score) == 1`,
		`size(comment + comment + comment) > 3`,
		strings.Repeat("(", 300) + "true" + strings.Repeat(")", 300),
		strings.Repeat("!", 500) + "true",
		`"\xff" == comment`,
		`score`,
		`has(response.score)`,
		`dyn(score) == "x"`,
	} {
		f.Add(seed, 3, "the queue was long")
	}
	engine, err := routing.NewEngine(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	version := 0
	f.Fuzz(func(t *testing.T, condition string, score int, comment string) {
		version++ // a fresh version each time, so the engine compiles rather than reuses
		rules := []domain.Rule{
			{ID: 1, Name: "fuzzed", Order: 1, Condition: condition, Kind: domain.KindCallback, Team: "t", ResolutionSLA: time.Hour, Active: true, Version: version},
			{ID: 2, Name: "fallback", Order: 2, Condition: "true", Kind: domain.KindCallback, Team: "t", ResolutionSLA: time.Hour, Active: true, Version: 1},
		}
		checkErr := engine.Check(condition)
		set := engine.RuleSet(rules)
		inSet := false
		for _, r := range set.Rules() {
			inSet = inSet || r.ID == 1
		}
		if inSet != (checkErr == nil) {
			t.Fatalf("Check(%q) = %v but the rule set holds it: %v", condition, checkErr, inSet)
		}
		if !utf8.ValidString(comment) {
			comment = strings.ToValidUTF8(comment, "?")
		}
		resp := domain.Response{ResponseID: "r", Score: ((score % 11) + 11) % 11, Touchpoint: "PURCHASE", StoreID: "s", Comment: comment, SubmittedAt: time.Now()}
		if err := resp.Normalize(); err != nil {
			return // the bus refuses such a response before routing sees it
		}
		rule, ok := set.Match(resp, domain.RoutingFacts{})
		if !ok || (rule.ID != 1 && rule.ID != 2) {
			t.Fatalf("Match = %+v, %v; want the fuzzed rule or the fallback", rule, ok)
		}
		if rule.ID == 1 && checkErr != nil {
			t.Fatalf("a condition Check refuses matched: %q", condition)
		}
	})
}
