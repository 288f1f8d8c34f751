package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// KeepReferralCodes keeps the members' referral codes the ledger announces
// (MemberEnrolled, MemberUpdated), so that referral requests carry them.
type KeepReferralCodes struct{ store Store }

// Handle stores the codes (a code never changes; an erased member's is not kept).
func (h KeepReferralCodes) Handle(ctx context.Context, codes []domain.ReferralCode) error {
	kept := codes[:0:0]
	for _, c := range codes {
		if c.MemberID != "" && c.Code != "" {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.SaveReferralCodes(ctx, kept) })
}
