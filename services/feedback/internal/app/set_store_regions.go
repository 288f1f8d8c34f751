package app

import (
	"context"
	"fmt"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// SetStoreRegions places stores in regions (the `region` variable of a condition) and
// names the team following up each store's STORE_FOLLOW_UP tasks.
type SetStoreRegions struct{ store Store }

// Handle stores the regions; errors are *domain.FieldError naming regions[i].<field>.
func (h SetStoreRegions) Handle(ctx context.Context, regions []domain.StoreRegion) error {
	if len(regions) == 0 {
		return domain.InvalidField("regions", "at least one")
	}
	for i, r := range regions {
		if err := r.Check(i); err != nil {
			return err
		}
	}
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		for i, r := range regions {
			if err := checkTeam(ctx, tx, fmt.Sprintf("regions[%d].store_team", i), r.StoreTeam); err != nil {
				return err
			}
		}
		return tx.SetStoreRegions(ctx, regions)
	})
}
