package app

import (
	"context"
	"errors"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// Unsubscribe withdraws a member's survey consent through the unsubscribe link of a
// survey email: at once in the survey's copy of the member, and for the ledger through
// survey.member.unsubscribed.
type Unsubscribe struct {
	store Store
	links *UnsubscribeLinks
	now   func() time.Time
}

// NewUnsubscribe returns the use case.
func NewUnsubscribe(store Store, links *UnsubscribeLinks, now func() time.Time) *Unsubscribe {
	return &Unsubscribe{store: store, links: links, now: now}
}

// Check verifies a token without changing anything and returns the invitation it names
// (for the language of the page): domain.ErrTokenInvalid, domain.ErrLinkExpired or
// domain.ErrInvitationNotFound otherwise.
func (u *Unsubscribe) Check(ctx context.Context, token string) (domain.Invitation, error) {
	id, err := u.links.Verify(token, u.now())
	if err != nil {
		return domain.Invitation{}, err
	}
	inv, _, err := u.store.Invitation(ctx, id)
	return inv, err
}

// Handle withdraws the consent of the member of the token's invitation. Doing it twice is
// harmless (the event is emitted each time; the ledger's withdrawal is idempotent). An
// erased member's invitation has no member any more: nothing to withdraw.
func (u *Unsubscribe) Handle(ctx context.Context, token string) (domain.Invitation, error) {
	now := u.now().UTC()
	id, err := u.links.Verify(token, now)
	if err != nil {
		return domain.Invitation{}, err
	}
	var inv domain.Invitation
	err = u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if inv, err = tx.LockInvitation(ctx, id); err != nil {
			return err
		}
		if inv.MemberID == "" {
			return nil
		}
		if _, err := tx.WithdrawConsent(ctx, inv.MemberID, now); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.MemberUnsubscribed{MemberID: inv.MemberID, InvitationID: inv.ID, Channel: domain.ChannelEmail, At: now})
	})
	if errors.Is(err, domain.ErrInvitationNotFound) {
		return domain.Invitation{}, err
	}
	return inv, err
}
