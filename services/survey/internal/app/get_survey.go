package app

import (
	"context"

	"github.com/treue/treue/services/survey/internal/domain"
)

// GetSurvey reads a survey with one of its versions.
type GetSurvey struct {
	store Store
}

// Handle returns the survey and its version; version 0 is the published one, or the
// latest while none is published.
func (h *GetSurvey) Handle(ctx context.Context, surveyID string, version int) (domain.Survey, domain.SurveyVersion, error) {
	sv, err := h.store.Survey(ctx, surveyID)
	if err != nil {
		return domain.Survey{}, domain.SurveyVersion{}, err
	}
	if version == 0 {
		version = sv.PublishedVersion
		if version == 0 {
			version = sv.LatestVersion
		}
	}
	v, err := h.store.SurveyVersion(ctx, surveyID, version)
	if err != nil {
		return domain.Survey{}, domain.SurveyVersion{}, err
	}
	// Read from memory, a version's status may be stale: the survey says which is
	// published.
	switch {
	case v.Status == domain.VersionDraft:
	case v.Version == sv.PublishedVersion:
		v.Status = domain.VersionPublished
	default:
		v.Status = domain.VersionSuperseded
	}
	return sv, v, nil
}
