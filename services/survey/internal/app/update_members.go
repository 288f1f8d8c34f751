package app

import "context"

// UpdateMembers applies changes of members' copies that are not enrolments or consent
// changes: a profile update, a tier change. The later of each kind wins.
type UpdateMembers struct{ store Store }

// Handle applies the updates in one transaction.
func (h *UpdateMembers) Handle(ctx context.Context, us []MemberUpdate) error {
	if len(us) == 0 {
		return nil
	}
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.UpdateMembers(ctx, us) })
}
