package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// PublishVersion makes a draft the version new invitations are made to; the version
// published before is superseded (invitations made to it are still answered in it).
type PublishVersion struct {
	store Store
	now   func() time.Time
}

// Handle publishes. domain.ErrVersionNotFound, domain.ErrNotDraft for a version
// published before, domain.ErrSurveyRetired.
func (h *PublishVersion) Handle(ctx context.Context, surveyID string, version int) (domain.Survey, domain.SurveyVersion, error) {
	now := h.now().UTC()
	var sv domain.Survey
	var v domain.SurveyVersion
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if sv, err = tx.LockSurvey(ctx, surveyID); err != nil {
			return err
		}
		if sv.Retired() {
			return domain.ErrSurveyRetired
		}
		if v, err = tx.VersionInTx(ctx, surveyID, version); err != nil {
			return err
		}
		if v.Status != domain.VersionDraft {
			return domain.ErrNotDraft
		}
		v.Status, v.PublishedAt, sv.PublishedVersion = domain.VersionPublished, now, version
		return tx.PublishVersion(ctx, surveyID, version, now)
	})
	if err != nil {
		return domain.Survey{}, domain.SurveyVersion{}, err
	}
	return sv, v, nil
}
