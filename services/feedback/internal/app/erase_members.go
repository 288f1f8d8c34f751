package app

import (
	"context"
	"time"
)

// EraseMembers anonymises the cases of erased members, and remembers them so that a
// response of theirs that arrives later opens its case without personal data.
type EraseMembers struct {
	store Store
	clock func() time.Time
}

// Handle erases the members and returns how many cases it anonymised. Erasing a member
// again changes nothing.
func (h EraseMembers) Handle(ctx context.Context, memberIDs []string) (int, error) {
	if len(memberIDs) == 0 {
		return 0, nil
	}
	var n int
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		n, err = tx.EraseMembers(ctx, memberIDs, h.clock())
		return err
	})
	return n, err
}
