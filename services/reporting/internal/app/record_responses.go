package app

import (
	"context"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// RecordResponses adds a batch of NPS answers to the daily roll-up: one increment per
// (day, touchpoint, store), written in one statement.
type RecordResponses struct{}

func (RecordResponses) Handle(ctx context.Context, w NpsWriter, responses []domain.Response) error {
	if len(responses) == 0 {
		return nil
	}
	return w.AddNps(ctx, domain.TallyResponses(responses))
}
