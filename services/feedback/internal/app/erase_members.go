package app

import (
	"context"
	"time"
)

// EraseMembers anonymises the cases of erased members.
type EraseMembers struct {
	clock func() time.Time
}

// Handle anonymises the members' cases and returns how many changed.
func (h EraseMembers) Handle(ctx context.Context, store EventStore, memberIDs []string) (int, error) {
	if len(memberIDs) == 0 {
		return 0, nil
	}
	return store.EraseMembers(ctx, memberIDs, h.clock())
}
