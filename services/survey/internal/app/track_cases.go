package app

import (
	"context"
	"fmt"
)

// TrackCases follows members' feedback cases: no survey while one is open; a resolved
// case is a CASE_RESOLVED touchpoint of its member.
type TrackCases struct {
	store    Store
	triggers *EvaluateTriggers
}

// Opened records open cases (those without a member are of no concern here).
func (h *TrackCases) Opened(ctx context.Context, cs []Case) error {
	var withMember []Case
	for _, c := range cs {
		if c.MemberID != "" {
			withMember = append(withMember, c)
		}
	}
	if len(withMember) == 0 {
		return nil
	}
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.OpenCases(ctx, withMember) })
}

// Resolved forgets the resolved cases, then evaluates the resolutions as touchpoints
// (triggers without a member earn nothing), in one transaction.
func (h *TrackCases) Resolved(ctx context.Context, caseIDs []string, touchpoints []Incoming) (Evaluated, error) {
	var out Evaluated
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.CloseCases(ctx, caseIDs); err != nil {
			return fmt.Errorf("close cases: %w", err)
		}
		var known []Incoming
		for _, t := range touchpoints {
			if t.MemberID != "" {
				known = append(known, t)
			}
		}
		var err error
		out, err = h.triggers.evaluate(ctx, tx, known)
		return err
	})
	return out, err
}
