package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// RetireSurvey stops new invitations to a survey; links already sent can still be
// answered until they expire.
type RetireSurvey struct {
	store Store
	now   func() time.Time
}

// Handle retires the survey; one retired before is domain.ErrSurveyRetired.
func (h *RetireSurvey) Handle(ctx context.Context, surveyID string) (domain.Survey, error) {
	now := h.now().UTC()
	var sv domain.Survey
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if sv, err = tx.LockSurvey(ctx, surveyID); err != nil {
			return err
		}
		if sv.Retired() {
			return domain.ErrSurveyRetired
		}
		sv.RetiredAt = now
		return tx.RetireSurvey(ctx, surveyID, now)
	})
	return sv, err
}
