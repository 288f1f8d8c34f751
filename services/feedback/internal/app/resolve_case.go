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
	// Roles are the caller's: their highest goodwill limit applies.
	Roles []string
	// GoodwillPoints, when above zero, are granted to the case's member (once: the case
	// is resolved once) with GoodwillReason.
	GoodwillPoints int64
	GoodwillReason string
}

// ResolveCase closes a case with an outcome; of two agents resolving it at once, one
// wins and the other gets domain.ErrAlreadyResolved.
type ResolveCase struct {
	store  Store
	clock  func() time.Time
	life   lifecycle
	limits domain.GoodwillLimits
}

// Handle returns the resolved case, or domain.ErrCaseNotFound, domain.ErrOutcomeNotAllowed
// or domain.ErrAlreadyResolved; with goodwill also domain.ErrGoodwillAnonymous or a
// *domain.GoodwillLimitError.
func (h ResolveCase) Handle(ctx context.Context, cmd ResolveCaseCommand) (CaseView, error) {
	var resolved domain.Case
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		// Locked: of two resolutions at once, the second waits and finds the case resolved.
		c, err := locked(ctx, tx, cmd.Actor, cmd.CaseID)
		if err != nil {
			return err
		}
		team, _, err := h.life.team(ctx, tx, c.Team)
		if err != nil {
			return err
		}
		now := h.clock()
		t, err := c.ResolveWith(team.Calendar, cmd.Outcome, cmd.RootCause, cmd.Note, cmd.ResolvedBy, now)
		if err != nil {
			return err
		}
		// Goodwill goes with the resolution: a case resolved already refuses a second one
		// (ResolveWith), and the ledger books one grant per case, reopened or not.
		var events []domain.Event
		if cmd.GoodwillPoints > 0 {
			g, err := domain.GrantGoodwill(c, cmd.GoodwillPoints, cmd.GoodwillReason, cmd.ResolvedBy, cmd.Roles, h.limits, now)
			if err != nil {
				return err
			}
			events = append(events, domain.GoodwillGranted{Goodwill: g})
		}
		if resolved, err = tx.SaveCase(ctx, c); err != nil {
			return err
		}
		if err := tx.AddHistory(ctx, t); err != nil {
			return err
		}
		return tx.Emit(ctx, append([]domain.Event{domain.CaseResolved{Case: resolved}}, events...)...)
	})
	if err != nil {
		return CaseView{}, err
	}
	return CaseView{Case: resolved, Overdue: false, At: h.clock()}, nil
}
