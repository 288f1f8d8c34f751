package app

import "context"

// EraseMembers honours the erasure of members (ledger.member.erased): whatever the read
// models hold about them goes, and every figure stays as it is.
type EraseMembers struct {
	store Store
}

func (c EraseMembers) Handle(ctx context.Context, memberIDs []string) error {
	if len(memberIDs) == 0 {
		return nil
	}
	return c.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.EraseMembers(ctx, memberIDs) })
}
