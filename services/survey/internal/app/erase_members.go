package app

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// EraseMembers deletes or anonymises the personal data of members the ledger erased:
// their copy, parked triggers, the comments of their responses and the link of their
// invitations to them. Scores and counts stay; the pseudonymous id is remembered so that
// late events cannot bring the member back.
type EraseMembers struct {
	store Store
	now   func() time.Time
}

// Handle erases the members in one transaction; erasing a member twice is harmless.
func (h *EraseMembers) Handle(ctx context.Context, memberIDs []string) error {
	if len(memberIDs) == 0 {
		return nil
	}
	ids := slices.Clone(memberIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.LockMembers(ctx, ids); err != nil {
			return fmt.Errorf("lock members: %w", err)
		}
		if err := tx.EraseMembers(ctx, ids, h.now().UTC()); err != nil {
			return fmt.Errorf("erase members: %w", err)
		}
		return nil
	})
}
