package app

import (
	"context"
	"errors"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// UnsubscribeSurveys withdraws the survey consent of members who followed the
// unsubscribe link of a survey email.
type UnsubscribeSurveys struct{ *base }

// Handle withdraws each member's survey consent as WithdrawConsent does (a consent
// record with the unsubscribe as its evidence, audited, and
// domain.MemberConsentChanged), acting as the survey service. A member who withdrew it
// already, or who is unknown or erased, is left alone: a second unsubscribe is no
// change.
func (u *UnsubscribeSurveys) Handle(ctx context.Context, us []domain.Unsubscribe) error {
	if len(us) == 0 {
		return nil
	}
	return u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		for _, un := range us {
			p, err := lockActiveProfile(ctx, tx, un.MemberID)
			if errors.Is(err, domain.ErrMemberNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if !p.Member.SurveyConsent {
				continue
			}
			if _, err := u.changeConsent(ctx, tx, domain.SurveyActor, p.Member, un.Withdrawal()); err != nil {
				return err
			}
		}
		return nil
	})
}
