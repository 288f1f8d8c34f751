package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ResolveCaseCommand closes a case.
type ResolveCaseCommand struct {
	CaseID     string
	Outcome    domain.Outcome
	Note       string
	ResolvedBy string
}

// ResolveCase closes a case with an outcome; of two agents resolving it at once, one
// wins and the other gets domain.ErrAlreadyResolved.
type ResolveCase struct {
	store Store
	clock func() time.Time
}

// Handle returns the resolved case, or domain.ErrCaseNotFound, domain.ErrOutcomeNotAllowed
// or domain.ErrAlreadyResolved.
func (h ResolveCase) Handle(ctx context.Context, cmd ResolveCaseCommand) (CaseView, error) {
	var resolved domain.Case
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		c, err := tx.Case(ctx, cmd.CaseID)
		if err != nil {
			return err
		}
		if err := c.Resolve(cmd.Outcome, cmd.Note, cmd.ResolvedBy, h.clock()); err != nil {
			return err
		}
		if resolved, err = tx.SaveResolution(ctx, c); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.CaseResolved{Case: resolved})
	})
	if err != nil {
		return CaseView{}, err
	}
	return CaseView{Case: resolved, Overdue: false}, nil
}
