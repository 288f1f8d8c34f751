package service_test

import (
	"testing"

	"github.com/treue/treue/pkg/testkit"
)

// BenchmarkEndToEndPurchasesWithTiers is BenchmarkEndToEndPurchases with Bronze, Silver
// and Gold defined: every batch also upserts its monthly figures, reads its members'
// standing and upgrades those who rise (most members reach Silver, some Gold).
func BenchmarkEndToEndPurchasesWithTiers(b *testing.B) {
	endToEndPurchases(b, func(e *env) {
		if _, err := e.tiers("marketing").DefineTiers(testkit.Ctx(b), bronzeSilverGold()); err != nil {
			b.Fatal(err)
		}
	})
}
