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
	limits domain.GoodwillLimits
}

// Handle returns the resolved case, or domain.ErrCaseNotFound, domain.ErrOutcomeNotAllowed
// or domain.ErrAlreadyResolved; with goodwill also domain.ErrGoodwillAnonymous or a
// *domain.GoodwillLimitError.
func (h ResolveCase) Handle(ctx context.Context, cmd ResolveCaseCommand) (CaseView, error) {
	var resolved domain.Case
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		c, err := tx.Case(ctx, cmd.CaseID)
		if err != nil {
			return err
		}
		now := h.clock()
		if err := c.Resolve(cmd.Outcome, cmd.Note, cmd.ResolvedBy, now); err != nil {
			return err
		}
		var events []domain.Event
		if cmd.GoodwillPoints > 0 {
			g, err := domain.GrantGoodwill(c, cmd.GoodwillPoints, cmd.GoodwillReason, cmd.ResolvedBy, cmd.Roles, h.limits, now)
			if err != nil {
				return err
			}
			events = append(events, domain.GoodwillGranted{Goodwill: g})
		}
		// SaveResolution refuses a case resolved before, so a retried resolve grants
		// nothing a second time.
		if resolved, err = tx.SaveResolution(ctx, c); err != nil {
			return err
		}
		return tx.Emit(ctx, append([]domain.Event{domain.CaseResolved{Case: resolved}}, events...)...)
	})
	if err != nil {
		return CaseView{}, err
	}
	return CaseView{Case: resolved, Overdue: false}, nil
}
