package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/services/survey/internal/domain"
)

// SubmitResponse answers an invitation through the token of its link, in the
// invitation's survey version. The gRPC API and the survey web page both come here.
type SubmitResponse struct {
	store Store
	links *Links
	now   func() time.Time
}

// Handle records the final answers and emits survey.response.submitted; the invitation
// is ANSWERED and its draft deleted. It returns domain.ErrTokenInvalid,
// domain.ErrLinkExpired, domain.ErrNotYetDue, domain.ErrInvitationNotFound,
// domain.ErrAlreadyAnswered, or a *domain.FieldError for an answer that breaks its
// question's rules (wrapping domain.ErrAnswerRequired, domain.ErrInvalidAnswer,
// domain.ErrScoreOutOfRange or domain.ErrCommentTooLong).
func (h *SubmitResponse) Handle(ctx context.Context, token string, a domain.Answers) (domain.Response, error) {
	return h.submit(ctx, token, func(id string, inv domain.Invitation, v domain.SurveyVersion, lang string, now time.Time) (domain.Response, error) {
		return domain.NewResponse(id, inv, v, a, lang, now)
	})
}

// HandleWithScore is Handle for a client that sends the score too: unless it is 0 (not
// sent, in proto3), it must agree with the score question's answer (a *domain.FieldError
// on "score" otherwise).
func (h *SubmitResponse) HandleWithScore(ctx context.Context, token string, a domain.Answers, score int) (domain.Response, error) {
	return h.submit(ctx, token, func(id string, inv domain.Invitation, v domain.SurveyVersion, lang string, now time.Time) (domain.Response, error) {
		if x := a[v.ScoreQuestionID].Score; score != 0 && (x == nil || *x != score) {
			return domain.Response{}, &domain.FieldError{Field: "score", Reason: "differs from the score question's answer", Err: domain.ErrInvalidAnswer}
		}
		return domain.NewResponse(id, inv, v, a, lang, now)
	})
}

// HandleScore records a score and a comment only (clients from before surveys had
// several questions): the score answers the score question, the comment the first
// open-text question shown for it. Errors as Handle.
func (h *SubmitResponse) HandleScore(ctx context.Context, token string, score int, comment string) (domain.Response, error) {
	return h.submit(ctx, token, func(id string, inv domain.Invitation, v domain.SurveyVersion, lang string, now time.Time) (domain.Response, error) {
		return domain.NewScoreResponse(id, inv, v, score, comment, lang, now)
	})
}

type buildResponse func(id string, inv domain.Invitation, v domain.SurveyVersion, lang string, now time.Time) (domain.Response, error)

func (h *SubmitResponse) submit(ctx context.Context, token string, build buildResponse) (domain.Response, error) {
	now := h.now().UTC()
	invitationID, err := h.links.Verify(token, now)
	if err != nil {
		return domain.Response{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return domain.Response{}, err
	}
	var resp domain.Response
	err = h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		// Locked: a second answer waits for this one and then finds it ANSWERED; an
		// erasure of the member waits for it, and so erases its texts too; one that
		// committed first has closed the invitation.
		inv, err := tx.LockInvitation(ctx, invitationID)
		if err != nil {
			return err
		}
		// The stored expiry may be earlier than the token's: erasure closes open links.
		if err := inv.Answerable(now); err != nil {
			return err
		}
		v, err := tx.VersionInTx(ctx, inv.SurveyID, inv.SurveyVersion)
		if err != nil {
			return err
		}
		if resp, err = build(id.String(), inv, v, v.Language(inv.Locale), now); err != nil {
			return err
		}
		if err := tx.AddResponse(ctx, resp); err != nil {
			return err
		}
		if err := tx.MarkAnswered(ctx, inv.ID, now); err != nil {
			return err
		}
		if err := tx.DeleteDraft(ctx, inv.ID); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.ResponseSubmitted{Response: resp})
	})
	if err != nil {
		return domain.Response{}, err
	}
	return resp, nil
}
