package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// AddNoteCommand adds a note to a case.
type AddNoteCommand struct {
	CaseID string
	Text   string
	Actor  Actor
}

// AddNote adds an agent's note to a case (any status: a closed case may still get a
// remark).
type AddNote struct{ lifecycle }

// Handle returns the case, or domain.ErrCaseNotFound or ErrNotYourTeam.
func (h AddNote) Handle(ctx context.Context, cmd AddNoteCommand) (CaseView, error) {
	var c domain.Case
	now := h.clock()
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if c, err = locked(ctx, tx, cmd.Actor, cmd.CaseID); err != nil {
			return err
		}
		n, err := tx.AddNote(ctx, domain.Note{CaseID: c.ID, By: cmd.Actor.Name, At: now, Text: cmd.Text})
		if err != nil {
			return err
		}
		return tx.Emit(ctx, domain.CaseNoteAdded{Case: c, Note: n})
	})
	if err != nil {
		return CaseView{}, err
	}
	return view(c, now), nil
}
