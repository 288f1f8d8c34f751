package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// GrantGoodwillCoupon gives a member a coupon of a reward for free, as goodwill on a
// feedback case.
type GrantGoodwillCoupon struct {
	IdempotencyKey string
	MemberID       string
	RewardID       string
	Reason         string
	CaseID         string
}

// GrantGoodwill issues the coupon of cmd without any ledger hold: a redemption of no
// points, recorded as requested (committed) and completed with its coupon in one
// transaction that emits coupon.issued marked with the case (no redemption.completed:
// the ledger has nothing to capture). Idempotent by key as Redeem is: a retry gets the
// same coupon and, within the retry window, the same code; a redemption a crash left
// requested is completed by the retry (the settler of abandoned redemptions leaves
// goodwill alone, as there is no hold to void).
func (h RedeemHandler) GrantGoodwill(ctx context.Context, cmd GrantGoodwillCoupon) (Redeemed, error) {
	r, settled, out, err := h.start(ctx, NewRedemption{
		ID:             uuid.Must(uuid.NewV7()).String(),
		IdempotencyKey: cmd.IdempotencyKey,
		RequestHash:    domain.GoodwillRequestHash(cmd.MemberID, cmd.RewardID, cmd.CaseID),
		MemberID:       cmd.MemberID,
		RewardID:       cmd.RewardID,
		GoodwillCaseID: cmd.CaseID,
		GoodwillReason: cmd.Reason,
	})
	if err != nil || settled {
		return out, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.finishTimeout)
	defer cancel()
	for range maxCodeDraws {
		code, err := domain.NewCouponCode(rand.Reader)
		if err != nil {
			return Redeemed{}, err
		}
		sealed, err := h.sealer.Seal(r.ID, code)
		if err != nil {
			return Redeemed{}, err
		}
		couponID := uuid.Must(uuid.NewV7()).String()
		done, err := h.complete(ctx, Completion{
			RedemptionID: r.ID, CouponID: couponID, CodeHash: code.Hash(), SealedCode: sealed, ShowFor: h.codeRetryWindow,
		})
		switch {
		case err == nil:
			return Redeemed{Redemption: done, Code: code, Settled: SettledCompleted}, nil
		case errors.Is(err, ErrCodeTaken):
			continue
		case errors.Is(err, ErrNotRequested):
			// A retry racing this call completed it first: its code is the one to show.
			return h.current(ctx, r.ID, "", "")
		default:
			// Nothing to compensate: the redemption stays requested for a retry.
			return Redeemed{}, err
		}
	}
	return Redeemed{}, fmt.Errorf("no unused coupon code in %d draws", maxCodeDraws)
}
