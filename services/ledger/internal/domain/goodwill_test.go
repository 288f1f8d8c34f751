package domain_test

import (
	"testing"

	"github.com/treue/treue/services/ledger/internal/domain"
)

func TestGoodwillBudgetTake(t *testing.T) {
	b := domain.GoodwillBudget{Limit: 1000, Used: 600}
	if !b.Take(400) || b.Used != 1000 {
		t.Fatalf("the budget's last 400: %+v", b)
	}
	if b.Take(1) || b.Used != 1000 {
		t.Errorf("one point beyond the budget taken: %+v", b)
	}
	unlimited := domain.GoodwillBudget{}
	if !unlimited.Take(1_000_000) || unlimited.Used != 1_000_000 {
		t.Errorf("no budget refused: %+v", unlimited)
	}
	if g := (domain.GoodwillGrant{CaseID: "c1"}); g.IdempotencyKey() != "goodwill:c1" {
		t.Errorf("key %q", g.IdempotencyKey())
	}
}
