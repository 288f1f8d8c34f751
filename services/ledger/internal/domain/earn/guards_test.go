package earn

import (
	"slices"
	"testing"
)

func TestGuardsAreTheConditionsLiteralTests(t *testing.T) {
	e := newEngine(t)
	for cond, want := range map[string][]guard{
		`purchase.store == "berlin-1"`:                                  {{guardStore, "berlin-1"}},
		`"web" == purchase.channel && purchase.total > 10.0`:            {{guardChannel, "web"}},
		`purchase.currency == "EUR" && (member.tier == "gold" && true)`: {{guardCurrency, "EUR"}, {guardTier, "gold"}},
		// Not conjuncts of the condition, or not a literal test of a guarded field.
		`purchase.store == "a" || purchase.store == "b"`:              nil,
		`!(purchase.store == "a")`:                                    nil,
		`purchase.store != "a"`:                                       nil,
		`purchase.store == purchase.channel`:                          nil,
		`purchase.lines.exists(l, l.sku == "X") && purchase.hour > 3`: nil,
		`purchase.weekday == "monday"`:                                nil,
	} {
		r, err := e.Check(rule("g", func(v *RuleVersion) { v.Condition = cond }))
		if err != nil {
			t.Fatal(cond, err)
		}
		if !slices.Equal(r.guards, want) {
			t.Errorf("%s: guards %v, want %v", cond, r.guards, want)
		}
	}
}

// TestGuardsDecideAsTheCondition: a failed guard is the condition false, with no warning
// even when another conjunct would fail to evaluate, as CEL decides it; a passed guard
// leaves the condition to decide.
func TestGuardsDecideAsTheCondition(t *testing.T) {
	e := newEngine(t)
	for _, c := range []struct {
		cond     string
		applies  bool
		warnings int
	}{
		{`purchase.store == "berlin-1" && member.tier == "gold"`, true, 0},
		{`purchase.store == "hamburg-2" && member.tier == "gold"`, false, 0},
		{`member.tier == "silver" && purchase.store == "berlin-1"`, false, 0},
		{`purchase.store == "hamburg-2" && member.attributes["missing"] == "x"`, false, 0},
		{`purchase.store == "berlin-1" && member.attributes["missing"] == "x"`, false, 1},
		{`purchase.channel == "store" && purchase.currency == "EUR" && purchase.total > 1.0`, true, 0},
	} {
		s, errs := e.RuleSet(nil, rule("g", func(v *RuleVersion) { v.Condition = c.cond }))
		if errs != nil {
			t.Fatal(errs)
		}
		x, warns, err := e.EvaluatePurchase(s, PurchaseInput{Purchase: basket(), Member: Profile{MemberID: "m1", Tier: "gold"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, applied := part(x, "g"); applied != c.applies || len(warns) != c.warnings {
			t.Errorf("%s: applied %v with %d warnings, want %v with %d", c.cond, applied, len(warns), c.applies, c.warnings)
		}
	}
}
