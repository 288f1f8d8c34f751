package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// SettleAbandonedHandler settles redemptions left requested by a call that stopped half
// way (a crash, a restart, a caller that never retried), so that their points are not
// held until the hold's TTL. It resumes each exactly as a retry with the same key would
// (RedeemHandler.finish): the ledger's PlaceHold, idempotent by the redemption's key,
// returns the hold the first call placed (or places it, if the call stopped before), and
// the redemption completes, its code sealed for the retry window so the caller's retry
// still gets it; if the points cannot be held, or the hold was voided or expired, it is
// cancelled and the hold voided. The ledger has no read-only look-up of a hold by key,
// so "is there a hold?" can only be asked this way.
//
// Exactly once: the claim keeps other settlers off a redemption for a lease, and every
// step that settles it is conditional on it still being requested, so a settler racing
// the caller's own retry (or a settler whose lease ran out) ends in the same one
// outcome; PlaceHold and the ledger's capture and void are idempotent.
type SettleAbandonedHandler struct {
	redeem      RedeemHandler
	settleAfter time.Duration
	log         *slog.Logger
}

// Settled counts what one pass did.
type Settled struct {
	// Claimed redemptions were requested for longer than SettleAfter.
	Claimed int
	// Completed and Cancelled are those now settled; the rest stay requested (the ledger
	// did not answer) and are claimed again once their lease has run out.
	Completed, Cancelled int
	// Settled are what this pass itself did to each redemption (Redeemed.Settled and
	// CancelReason), for the operators' counters.
	Settled []Redeemed
}

// Handle settles up to limit abandoned redemptions. It stops between redemptions when
// ctx ends; one it has started is finished within FinishTimeout, as a Redeem call is.
func (h SettleAbandonedHandler) Handle(ctx context.Context, limit int) (Settled, error) {
	// The lease outlasts a settling attempt (FinishTimeout bounds it), so that no two
	// settlers work on one redemption; were they to, the outcome would still be one.
	lease := h.redeem.finishTimeout + 5*time.Second
	rs, err := inTx(ctx, h.redeem.store, func(ctx context.Context, tx Tx) ([]domain.Redemption, error) {
		return tx.ClaimAbandoned(ctx, h.settleAfter, lease, limit)
	})
	if err != nil {
		return Settled{}, err
	}
	out := Settled{Claimed: len(rs)}
	for _, r := range rs {
		if ctx.Err() != nil {
			break
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.redeem.finishTimeout)
		done, ferr := h.redeem.finish(fctx, r)
		if done.Settled != "" {
			out.Settled = append(out.Settled, done)
		}
		now, err := h.redeem.store.Redemption(fctx, r.ID)
		cancel()
		if err != nil {
			h.log.WarnContext(ctx, "abandoned redemption: could not read its outcome", "redemption_id", r.ID, "err", err)
			continue
		}
		switch now.Status {
		case domain.StatusCompleted:
			out.Completed++
			h.log.InfoContext(ctx, "abandoned redemption completed", "redemption_id", r.ID, "hold_id", now.HoldID,
				"requested_at", r.CreatedAt)
		case domain.StatusCancelled:
			out.Cancelled++
			h.log.InfoContext(ctx, "abandoned redemption cancelled", "redemption_id", r.ID, "hold_id", now.HoldID,
				"reason", now.CancelReason, "requested_at", r.CreatedAt)
		default:
			h.log.WarnContext(ctx, "abandoned redemption still requested; trying again after its lease",
				"redemption_id", r.ID, "lease", lease, "err", ferr)
		}
	}
	return out, nil
}
