package app

import (
	"testing"

	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

func TestReturnPointsTakeBackWhatTheLinesEarned(t *testing.T) {
	b := earn.Breakdown{
		Lines: []domain.Line{
			{SKU: "COF", Quantity: 2, AmountMinor: 800},
			{SKU: "BRD", Quantity: 1, AmountMinor: 200},
			{SKU: "COF", Quantity: 1, AmountMinor: 300},
		},
		Parts: []earn.CreditPart{
			{Part: earn.Part{RuleID: earn.BaseRuleID, LinePoints: []int64{8, 2, 3}, Points: 13}},
			{Part: earn.Part{RuleID: "double-coffee", LinePoints: []int64{8, 0, 3}, Points: 11}},
		},
	}
	ret := func(lines ...domain.Line) int64 {
		n, ok := returnPoints(b, domain.Return{Lines: lines})
		if !ok {
			t.Fatal("no breakdown used")
		}
		return n
	}
	for _, c := range []struct {
		name  string
		lines []domain.Line
		want  int64
	}{
		{"the bread: its base share only", []domain.Line{{SKU: "BRD", AmountMinor: 200}}, 2},
		{"one of two coffees of the first line: half of 16", []domain.Line{{SKU: "COF", AmountMinor: 400}}, 8},
		{"all the coffee: both lines", []domain.Line{{SKU: "COF", AmountMinor: 1100}}, 16 + 6},
		{"a third of a line floors", []domain.Line{{SKU: "BRD", AmountMinor: 67}}, 0},
		{"a SKU not bought takes nothing", []domain.Line{{SKU: "TEA", AmountMinor: 500}}, 0},
		{"more than bought: no more than the lines earned", []domain.Line{{SKU: "COF", AmountMinor: 9999}}, 22},
	} {
		if got := ret(c.lines...); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if _, ok := returnPoints(earn.Breakdown{}, domain.Return{Lines: []domain.Line{{SKU: "COF", AmountMinor: 1}}}); ok {
		t.Error("a purchase without breakdown: want the caller's fallback")
	}
}
