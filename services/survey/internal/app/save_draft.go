package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// SaveDraft keeps answers given on the way, before the member submits.
type SaveDraft struct {
	store Store
	links *Links
	now   func() time.Time
}

// Handle merges a over the answers saved before for token's invitation. Each answer
// must be valid for its question (a *domain.FieldError otherwise); the link must be
// answerable (the errors of OpenSurvey; domain.ErrAlreadyAnswered once submitted).
func (h *SaveDraft) Handle(ctx context.Context, token string, a domain.Answers) error {
	now := h.now().UTC()
	invitationID, err := h.links.Verify(token, now)
	if err != nil {
		return err
	}
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		inv, err := tx.LockInvitation(ctx, invitationID)
		if err != nil {
			return err
		}
		if err := inv.Answerable(now); err != nil {
			return err
		}
		v, err := tx.VersionInTx(ctx, inv.SurveyID, inv.SurveyVersion)
		if err != nil {
			return err
		}
		clean, err := v.Partial(a)
		if err != nil {
			return err
		}
		return tx.SaveDraft(ctx, inv.ID, clean, now)
	})
}
