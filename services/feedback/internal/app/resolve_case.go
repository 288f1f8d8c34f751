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
	// RootCause is the root-cause category.
	RootCause string
	// Actor confines the resolution to the actor's teams (ResolvedBy names who acted).
	Actor Actor
}

// ResolveCase closes a case with an outcome; of two agents resolving it at once, one
// wins and the other gets domain.ErrAlreadyResolved.
type ResolveCase struct {
	store Store
	clock func() time.Time
	life  lifecycle
}

// Handle returns the resolved case, or domain.ErrCaseNotFound, domain.ErrOutcomeNotAllowed
// or domain.ErrAlreadyResolved.
func (h ResolveCase) Handle(ctx context.Context, cmd ResolveCaseCommand) (CaseView, error) {
	var resolved domain.Case
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		// Locked: of two resolutions at once, the second waits and finds the case resolved.
		c, err := locked(ctx, tx, cmd.Actor, cmd.CaseID)
		if err != nil {
			return err
		}
		team, _, err := h.life.team(ctx, c.Team)
		if err != nil {
			return err
		}
		t, err := c.ResolveWith(team.Calendar, cmd.Outcome, cmd.RootCause, cmd.Note, cmd.ResolvedBy, h.clock())
		if err != nil {
			return err
		}
		if resolved, err = tx.SaveCase(ctx, c); err != nil {
			return err
		}
		if err := tx.AddHistory(ctx, t); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.CaseResolved{Case: resolved})
	})
	if err != nil {
		return CaseView{}, err
	}
	return CaseView{Case: resolved, Overdue: false, At: h.clock()}, nil
}
