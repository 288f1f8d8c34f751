package app

import "context"

// ForgetReferralCodes drops the referral codes of erased members.
type ForgetReferralCodes struct{ store Store }

// Handle forgets the members' codes for good: a late MemberUpdated does not bring one back.
func (h ForgetReferralCodes) Handle(ctx context.Context, memberIDs []string) error {
	if len(memberIDs) == 0 {
		return nil
	}
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.ForgetReferralCodes(ctx, memberIDs) })
}
