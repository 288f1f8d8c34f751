package service_test

import (
	"fmt"
	"testing"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
)

// benchRules and benchMatching mirror make bench: 50 active rules of which 10 match every
// basket (5 through a line filter evaluated on each line, 5 on the basket), the others
// testing the store and the lines and never matching.
const (
	benchRules    = 50
	benchMatching = 10
)

// BenchmarkEndToEndPurchasesWithRules is BenchmarkEndToEndPurchases with 50 active earning
// rules, 10 of them matching every basket: what the earning engine costs per purchase.
func BenchmarkEndToEndPurchasesWithRules(b *testing.B) {
	var world *env
	endToEndPurchases(b, func(e *env) {
		world = e
		program := e.program("marketing")
		for i := range benchRules {
			d := &ledgerv1.RuleDefinition{Name: fmt.Sprintf("bench rule %d", i), Trigger: "purchase", Stacking: "additive"}
			switch {
			case i < benchMatching/2:
				d.Condition = `member.tier == "standard" && purchase.currency == "EUR"`
				d.LineFilter = `line.quantity >= 1 && line.amount_minor > 0`
				d.Award = &ledgerv1.Award{Kind: "fixed_bonus", Points: 1, Per: "line", On: "matching_lines"}
			case i < benchMatching:
				d.Condition = `purchase.total_minor > 0 && purchase.currency == "EUR"`
				d.Award = &ledgerv1.Award{Kind: "fixed_bonus", Points: 2, Per: "basket", On: "basket"}
			default:
				d.Condition = fmt.Sprintf(`purchase.store == "nowhere-%d" && purchase.lines.exists(l, l.sku == "X-%d")`, i, i)
				d.Award = &ledgerv1.Award{Kind: "multiplier", Rate: "2", Per: "line", On: "matching_lines"}
			}
			if _, err := program.CreateRule(testkit.Ctx(b), &ledgerv1.CreateRuleRequest{Definition: d, Activate: true}); err != nil {
				b.Fatalf("rule %d: %v", i, err)
			}
		}
	})
	// Every credit is the base and the 10 matching rules, or the figures above measure
	// less than they say.
	if n := world.db.Count(`SELECT count(*) FROM credit_breakdowns WHERE json_array_length(parts) <> 1 + $1`, benchMatching); n != 0 {
		b.Fatalf("%d credits were not made of the base and %d rules", n, benchMatching)
	}
}
