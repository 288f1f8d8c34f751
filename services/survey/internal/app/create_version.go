package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// CreateVersion adds a draft version to a survey, or replaces its current draft.
type CreateVersion struct {
	store Store
	now   func() time.Time
}

// CreateVersionCommand is the new wording of a survey.
type CreateVersionCommand struct {
	SurveyID string
	Spec     SurveySpec
}

// Handle stores the draft: the next number after the published version, or the number
// of the draft it replaces. A retired survey is domain.ErrSurveyRetired.
func (h *CreateVersion) Handle(ctx context.Context, cmd CreateVersionCommand) (domain.Survey, domain.SurveyVersion, error) {
	now := h.now().UTC()
	var sv domain.Survey
	var v domain.SurveyVersion
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if sv, err = tx.LockSurvey(ctx, cmd.SurveyID); err != nil {
			return err
		}
		if sv.Retired() {
			return domain.ErrSurveyRetired
		}
		n := sv.LatestVersion + 1
		if sv.LatestVersion > sv.PublishedVersion {
			n = sv.LatestVersion // the draft, replaced
		}
		if v, err = cmd.Spec.version(sv, n, now); err != nil {
			return err
		}
		sv.LatestVersion = n
		return tx.PutDraft(ctx, v)
	})
	if err != nil {
		return domain.Survey{}, domain.SurveyVersion{}, err
	}
	return sv, v, nil
}
