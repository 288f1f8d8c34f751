package app

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/services/survey/internal/domain"
)

// CreateSurvey creates a survey whose version 1 is a draft, or published at once.
type CreateSurvey struct {
	store Store
	now   func() time.Time
}

// CreateSurveyCommand is one survey to create. IdempotencyKey (scoped to the caller)
// makes a retry return the survey created the first time.
type CreateSurveyCommand struct {
	IdempotencyKey string
	Name           string
	Spec           SurveySpec
	Publish        bool
}

// Handle creates the survey. A definition that breaks a rule is a *domain.FieldError
// (domain.ErrInvalidDefinition); a key used before for other content
// domain.ErrIdempotencyKeyReused.
func (h *CreateSurvey) Handle(ctx context.Context, cmd CreateSurveyCommand) (domain.Survey, domain.SurveyVersion, error) {
	now := h.now().UTC()
	id, err := uuid.NewV7()
	if err != nil {
		return domain.Survey{}, domain.SurveyVersion{}, err
	}
	sv := domain.Survey{ID: id.String(), Name: cmd.Name, LatestVersion: 1, CreatedAt: now}
	v, err := cmd.Spec.version(sv, 1, now)
	if err != nil {
		return domain.Survey{}, domain.SurveyVersion{}, err
	}
	if cmd.Publish {
		sv.PublishedVersion, v.Status, v.PublishedAt = 1, domain.VersionPublished, now
	}
	hash := v.Hash(strconv.FormatBool(cmd.Publish))
	var existing string
	err = h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		id, existingHash, err := tx.CreateSurvey(ctx, sv, v, cmd.IdempotencyKey, hash)
		if err != nil {
			return err
		}
		if id != "" && existingHash != hash {
			return domain.ErrIdempotencyKeyReused
		}
		existing = id
		return nil
	})
	if err != nil {
		return domain.Survey{}, domain.SurveyVersion{}, err
	}
	if existing != "" {
		// A retry: what the first call created (version 1, as it is now).
		if sv, err = h.store.Survey(ctx, existing); err != nil {
			return domain.Survey{}, domain.SurveyVersion{}, err
		}
		v, err = h.store.SurveyVersion(ctx, existing, 1)
		return sv, v, err
	}
	return sv, v, nil
}
