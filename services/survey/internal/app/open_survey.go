package app

import (
	"context"
	"errors"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// OpenSurvey reads what the survey page shows for a link.
type OpenSurvey struct {
	store Store
	links *Links
	now   func() time.Time
}

// SurveyPage is what the page of a link shows: the invitation's own survey version
// (never a later one), in the member's language, with the answers saved so far.
type SurveyPage struct {
	Invitation domain.Invitation
	Version    domain.SurveyVersion
	// Lang is the language chosen from the member's locale; "" when the link is invalid.
	Lang     string
	Draft    domain.Answers
	Answered bool
}

// Handle returns the page of token. With domain.ErrLinkExpired (also for a suppressed,
// failed or expired invitation) or domain.ErrNotYetDue it still returns the page (for
// its language); with domain.ErrTokenInvalid or domain.ErrInvitationNotFound an empty
// page. An answered invitation is no error, whatever its expiry.
func (h *OpenSurvey) Handle(ctx context.Context, token string) (SurveyPage, error) {
	now := h.now().UTC()
	invitationID, verr := h.links.Verify(token, now)
	if errors.Is(verr, domain.ErrTokenInvalid) {
		return SurveyPage{}, verr
	}
	inv, answered, err := h.store.Invitation(ctx, invitationID)
	if err != nil {
		return SurveyPage{}, err
	}
	v, err := h.store.SurveyVersion(ctx, inv.SurveyID, inv.SurveyVersion)
	if err != nil {
		return SurveyPage{}, err
	}
	page := SurveyPage{Invitation: inv, Version: v, Lang: v.Language(inv.Locale), Answered: answered}
	switch {
	case answered:
		// An answered link keeps thanking the member, even once it has expired.
		return page, nil
	case verr != nil:
		return page, verr
	}
	if err := inv.Answerable(now); err != nil {
		return page, err
	}
	if page.Draft, err = h.store.Draft(ctx, inv.ID); err != nil {
		return SurveyPage{}, err
	}
	return page, nil
}
