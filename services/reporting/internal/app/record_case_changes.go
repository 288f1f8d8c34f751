package app

import (
	"context"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// RecordCaseChanges stores what a batch of feedback events tells about cases.
type RecordCaseChanges struct{}

func (RecordCaseChanges) Handle(ctx context.Context, w CaseWriter, changes []domain.CaseChange) error {
	if len(changes) == 0 {
		return nil
	}
	return w.UpsertCases(ctx, domain.MergeCaseChanges(changes))
}
