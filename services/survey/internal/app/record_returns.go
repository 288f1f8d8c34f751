package app

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/services/survey/internal/domain"
)

// RecordReturns follows returned purchases: an invitation scheduled for a returned
// purchase is suppressed (reason RETURNED), and the return is remembered so that the
// purchase's trigger arriving later earns nothing either.
type RecordReturns struct {
	store Store
	now   func() time.Time
}

// Handle takes the touchpoint keys of returned purchases (pos:<store>:<transaction>)
// and returns how many scheduled invitations it suppressed.
func (h *RecordReturns) Handle(ctx context.Context, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	now := h.now().UTC()
	n := 0
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		invs, err := tx.RecordReturns(ctx, keys, now)
		if err != nil {
			return fmt.Errorf("record returns: %w", err)
		}
		if len(invs) == 0 {
			return nil
		}
		ss := make([]domain.Suppression, len(invs))
		events := make([]domain.Event, len(invs))
		for i, inv := range invs {
			id, err := uuid.NewV7()
			if err != nil {
				return err
			}
			ss[i] = domain.Suppression{ID: id.String(), InvitationID: inv.ID, MemberID: inv.MemberID, TriggerID: inv.TriggerID,
				Touchpoint: inv.Touchpoint, Key: inv.TriggerKey, Reason: domain.SuppressedReturned, At: now}
			events[i] = domain.InvitationSuppressed{Suppression: ss[i]}
		}
		if _, err := tx.AddSuppressions(ctx, ss); err != nil {
			return fmt.Errorf("add suppressions: %w", err)
		}
		n = len(invs)
		return tx.Emit(ctx, events...)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
