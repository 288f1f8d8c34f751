package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// MergeCasesCommand merges Duplicate into Primary.
type MergeCasesCommand struct {
	PrimaryID, DuplicateID string
	Actor                  Actor
}

// MergeCases closes a duplicate case of a member into the primary case: the duplicate is
// closed (merged_into the primary), its notes move to the primary, both histories record
// it.
type MergeCases struct{ lifecycle }

// Handle returns both cases after the merge, or domain.ErrCaseNotFound, ErrNotYourTeam,
// domain.ErrNotMergeable or a domain.TransitionError.
func (h MergeCases) Handle(ctx context.Context, cmd MergeCasesCommand) (primary, duplicate CaseView, err error) {
	var p, d domain.Case
	now := h.clock()
	err = h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		// Lock in id order so that two merges of the same pair cannot deadlock.
		first, second := cmd.PrimaryID, cmd.DuplicateID
		if second < first {
			first, second = second, first
		}
		a, err := locked(ctx, tx, cmd.Actor, first)
		if err != nil {
			return err
		}
		b := a
		if second != first {
			if b, err = locked(ctx, tx, cmd.Actor, second); err != nil {
				return err
			}
		}
		p, d = a, b
		if a.ID != cmd.PrimaryID {
			p, d = b, a
		}
		t, err := d.MergeInto(p, cmd.Actor.Name, now)
		if err != nil {
			return err
		}
		if d, err = tx.SaveCase(ctx, d); err != nil {
			return err
		}
		moved, err := tx.MoveNotes(ctx, d.ID, p.ID)
		if err != nil {
			return err
		}
		pt := domain.Transition{CaseID: p.ID, From: p.Status, To: p.Status, Action: "merge", By: cmd.Actor.Name, At: now,
			Note: "merged " + d.ID + " into this case"}
		if moved > 0 {
			pt.Note += " with its notes"
		}
		if err := tx.AddHistory(ctx, t, pt); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.CaseChanged{Case: d, Transition: t},
			domain.CasesMerged{Primary: p, Duplicate: d, By: cmd.Actor.Name, At: now})
	})
	if err != nil {
		return CaseView{}, CaseView{}, err
	}
	return view(p, now), view(d, now), nil
}
