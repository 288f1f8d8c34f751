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
	cases CaseRepository
	clock func() time.Time
}

// Handle returns the resolved case, or domain.ErrCaseNotFound, domain.ErrOutcomeNotAllowed
// or domain.ErrAlreadyResolved.
func (h ResolveCase) Handle(ctx context.Context, cmd ResolveCaseCommand) (CaseView, error) {
	c, err := h.cases.Resolve(ctx, cmd.CaseID, func(c *domain.Case) error {
		return c.Resolve(cmd.Outcome, cmd.Note, cmd.ResolvedBy, h.clock())
	})
	if err != nil {
		return CaseView{}, err
	}
	return CaseView{Case: c, Overdue: false}, nil
}
