package app

import "context"

// SyncMembers keeps the feedback service's copy of members (tier, locale) as the ledger
// announces them; routing reads the tier.
type SyncMembers struct{ store Store }

// Handle keeps the members; an older announcement than the one kept changes nothing.
func (h SyncMembers) Handle(ctx context.Context, members []MemberFacts) error {
	if len(members) == 0 {
		return nil
	}
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		return tx.UpsertMembers(ctx, members)
	})
}
