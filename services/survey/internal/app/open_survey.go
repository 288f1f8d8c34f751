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

// SurveyPage is what the page of a link shows.
type SurveyPage struct {
	Invitation domain.Invitation
	// Lang is the language chosen from the member's locale; "" when the link is invalid.
	Lang     string
	Text     domain.SurveyText
	Answered bool
}

// Handle returns the page of token. With domain.ErrLinkExpired it still returns the page
// (for its language); with domain.ErrTokenInvalid or domain.ErrInvitationNotFound an
// empty page. An answered invitation is no error, whatever its expiry.
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
	survey, err := h.store.Survey(ctx, inv.SurveyID)
	if err != nil {
		return SurveyPage{}, err
	}
	lang, text := survey.Text(inv.Locale)
	page := SurveyPage{Invitation: inv, Lang: lang, Text: text, Answered: answered}
	switch {
	case answered:
		// An answered link keeps thanking the member, even once it has expired.
		return page, nil
	case verr != nil:
		return page, verr
	case !inv.Open(now):
		return page, domain.ErrLinkExpired
	}
	return page, nil
}
