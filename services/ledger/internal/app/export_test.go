package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

// EarnAsOf is what a late credit of p (a claimed receipt) would earn: the rule versions
// live when it happened.
func EarnAsOf(ctx context.Context, a *Application, p domain.Purchase) (earn.Explanation, error) {
	b := a.Commands.RecordPurchases.base
	var x earn.Explanation
	err := b.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		e, err := b.earnAsOf(ctx, tx, []domain.Purchase{p})
		x = e.explanations[p.Key]
		return err
	})
	return x, err
}
