package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/services/survey/internal/domain"
)

// SubmitResponse answers an invitation through the token of its link. The gRPC API and
// the survey web page both come here.
type SubmitResponse struct {
	store Store
	links *Links
	now   func() time.Time
}

// SubmitResponseCommand is one answer.
type SubmitResponseCommand struct {
	Token   string
	Score   int
	Comment string
}

// Handle records the answer and emits survey.response.submitted. It returns
// domain.ErrTokenInvalid, domain.ErrLinkExpired, domain.ErrInvitationNotFound,
// domain.ErrScoreOutOfRange, domain.ErrCommentTooLong or domain.ErrAlreadyAnswered.
func (h *SubmitResponse) Handle(ctx context.Context, cmd SubmitResponseCommand) (domain.Response, error) {
	now := h.now().UTC()
	invitationID, err := h.links.Verify(cmd.Token, now)
	if err != nil {
		return domain.Response{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return domain.Response{}, err
	}
	var resp domain.Response
	err = h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		// Locked: an erasure of the member waits for this response, and so erases its
		// comment too; one that committed first has closed the invitation.
		inv, err := tx.LockInvitation(ctx, invitationID)
		if err != nil {
			return err
		}
		// The stored expiry may be earlier than the token's: erasure closes open links.
		if !inv.Open(now) {
			return domain.ErrLinkExpired
		}
		resp, err = domain.NewResponse(id.String(), inv, cmd.Score, cmd.Comment, now)
		if err != nil {
			return err
		}
		if err := tx.AddResponse(ctx, resp); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.ResponseSubmitted{Response: resp})
	})
	if err != nil {
		return domain.Response{}, err
	}
	return resp, nil
}
