package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// Redeem spends a member's points on a reward.
type Redeem struct {
	IdempotencyKey string
	MemberID       string
	RewardID       string
}

// Redeemed is the outcome of Redeem.
type Redeemed struct {
	Redemption domain.Redemption
	// Code is the coupon's code: set in the call that issued it and, within the retry
	// window, in the answer to a retry. Empty on a completed redemption when the window
	// has passed: the code cannot be shown again.
	Code domain.CouponCode
	// Settled is what this call itself did, for the operators' counters: SettledCompleted
	// (the coupon issued), SettledCancelled (for CancelReason), or "" when it settled
	// nothing (a retry answered with an earlier outcome). Set also when an error is
	// returned: a cancellation is answered with one.
	Settled      string
	CancelReason string
}

// What a call did to a redemption (Redeemed.Settled).
const (
	SettledCompleted = "completed"
	SettledCancelled = "cancelled"
)

// maxCodeDraws bounds the draws of a coupon code; with 80 random bits a second draw is
// already never needed.
const maxCodeDraws = 3

// RedeemHandler runs a redemption: (a) record it as requested and commit, (b) hold the
// points in the ledger, (c) issue the coupon and complete it in one transaction whose
// redemption.completed event makes the ledger capture the hold (it emits
// coupon.issued with it). A failure after the
// hold was asked for and before (c) committed cancels it (d): the redemption.cancelled
// event makes the ledger void the hold. Each step is idempotent or conditional on the
// redemption still being requested, so a retry with the same key, a second call racing
// the first, or the settler of abandoned redemptions resumes at (b) and ends in one
// outcome.
//
// (c) keeps the code sealed (encrypted under the service's key, never in clear) for the
// retry window, so that a retry of a call whose response was lost gets the same code.
type RedeemHandler struct {
	store           Store
	ledger          Ledger
	sealer          CodeSealer
	log             *slog.Logger
	holdTTL         time.Duration
	finishTimeout   time.Duration
	codeRetryWindow time.Duration
}

func (h RedeemHandler) Handle(ctx context.Context, cmd Redeem) (Redeemed, error) {
	r, settled, out, err := h.start(ctx, NewRedemption{
		ID:             uuid.Must(uuid.NewV7()).String(),
		IdempotencyKey: cmd.IdempotencyKey,
		RequestHash:    domain.RedeemRequestHash(cmd.MemberID, cmd.RewardID),
		MemberID:       cmd.MemberID,
		RewardID:       cmd.RewardID,
	})
	if err != nil || settled {
		return out, err
	}
	// From here a hold may exist: finish even if the caller hangs up, within a bound.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.finishTimeout)
	defer cancel()
	return h.finish(ctx, r)
}

// start records n as requested, or finds the redemption of its key: a retry of a call
// that stopped half way (or one racing it) goes on with it; one already settled is
// answered as its call was (settled true, with out); a key of another request is
// ErrIdempotencyKeyReused.
func (h RedeemHandler) start(ctx context.Context, n NewRedemption) (r domain.Redemption, settled bool, out Redeemed, err error) {
	r, created, err := h.store.StartRedemption(ctx, n)
	if err != nil || created {
		return r, false, Redeemed{}, err
	}
	if !bytes.Equal(r.RequestHash, n.RequestHash) {
		return r, false, Redeemed{}, fmt.Errorf("%w: key %q belongs to redemption %s", domain.ErrIdempotencyKeyReused, n.IdempotencyKey, r.ID)
	}
	if r.Status != domain.StatusRequested {
		out, err = h.settled(ctx, r)
		return r, true, out, err
	}
	return r, false, Redeemed{}, nil
}

func (h RedeemHandler) finish(ctx context.Context, r domain.Redemption) (Redeemed, error) {
	hold, err := h.ledger.PlaceHold(ctx, HoldRequest{
		IdempotencyKey: domain.HoldReference(r.ID),
		MemberID:       r.MemberID,
		Points:         r.Points,
		Reference:      domain.HoldReference(r.ID),
		TTL:            h.holdTTL,
	})
	switch {
	case err == nil:
	case errors.Is(err, domain.ErrInsufficientPoints):
		return h.reject(ctx, r, domain.CancelInsufficientPoints, err)
	case errors.Is(err, domain.ErrMemberNotFound):
		return h.reject(ctx, r, domain.CancelMemberNotFound, err)
	case errors.Is(err, ErrLedgerRejected):
		return h.reject(ctx, r, domain.CancelLedgerRejected, err)
	default:
		// Whether the hold exists is unknown: the redemption stays requested, so that a
		// retry with the same key finds the hold (PlaceHold is idempotent); without a
		// retry the settler of abandoned redemptions does.
		return Redeemed{}, err
	}
	if hold.Status == HoldVoided || hold.Status == HoldExpired {
		// A retry long after the first call stopped: the points went back to the member,
		// the redemption cannot complete on this hold.
		return h.compensate(ctx, r, hold.ID, domain.CancelHoldNotPlaced,
			fmt.Errorf("%w: hold %s is %s; retry with a new idempotency key", domain.ErrRedemptionCancelled, hold.ID, hold.Status), "", "")
	}
	for range maxCodeDraws {
		code, err := domain.NewCouponCode(rand.Reader)
		if err != nil {
			return h.compensate(ctx, r, hold.ID, domain.CancelIssueFailed, err, "", "")
		}
		sealed, err := h.sealer.Seal(r.ID, code)
		if err != nil {
			return h.compensate(ctx, r, hold.ID, domain.CancelIssueFailed, err, "", "")
		}
		couponID := uuid.Must(uuid.NewV7()).String()
		done, err := h.complete(ctx, Completion{
			RedemptionID: r.ID, HoldID: hold.ID, CouponID: couponID, CodeHash: code.Hash(),
			SealedCode: sealed, ShowFor: h.codeRetryWindow,
		})
		switch {
		case err == nil:
			return Redeemed{Redemption: done, Code: code, Settled: SettledCompleted}, nil
		case errors.Is(err, ErrCodeTaken):
			h.log.WarnContext(ctx, "coupon code drawn twice; drawing again", "redemption_id", r.ID)
			continue
		case errors.Is(err, ErrNotRequested):
			// A call racing this one settled the redemption first; if it completed it,
			// its code is the one to show.
			return h.current(ctx, r.ID, "", "")
		default:
			return h.compensate(ctx, r, hold.ID, domain.CancelIssueFailed, err, couponID, code)
		}
	}
	return h.compensate(ctx, r, hold.ID, domain.CancelIssueFailed, fmt.Errorf("no unused coupon code in %d draws", maxCodeDraws), "", "")
}

// complete is step (c): the completion and its events, in one transaction.
func (h RedeemHandler) complete(ctx context.Context, c Completion) (domain.Redemption, error) {
	return inTx(ctx, h.store, func(ctx context.Context, tx Tx) (domain.Redemption, error) {
		done, err := tx.CompleteRedemption(ctx, c)
		if err != nil {
			return done, err
		}
		if done.Goodwill() {
			// No hold: nothing for the ledger to capture.
			return done, tx.Emit(ctx, done.CouponIssued())
		}
		return done, tx.Emit(ctx, done.Completed(), done.CouponIssued())
	})
}

// cancel marks a requested redemption cancelled, with its event, in one transaction.
func (h RedeemHandler) cancel(ctx context.Context, redemptionID, holdID, reason string) (domain.Redemption, error) {
	return inTx(ctx, h.store, func(ctx context.Context, tx Tx) (domain.Redemption, error) {
		cancelled, err := tx.CancelRedemption(ctx, redemptionID, holdID, reason)
		if err != nil {
			return cancelled, err
		}
		return cancelled, tx.Emit(ctx, cancelled.Cancelled())
	})
}

// reject cancels a redemption the ledger refused to hold points for, and returns cause.
func (h RedeemHandler) reject(ctx context.Context, r domain.Redemption, reason string, cause error) (Redeemed, error) {
	_, err := h.cancel(ctx, r.ID, "", reason)
	switch {
	case errors.Is(err, ErrNotRequested):
		return h.current(ctx, r.ID, "", "")
	case err != nil:
		// No hold exists, so nothing is at stake: the redemption stays requested and a
		// retry asks the ledger again.
		h.log.WarnContext(ctx, "could not record a rejected redemption as cancelled", "redemption_id", r.ID, "reason", reason, "err", err)
		return Redeemed{}, cause
	}
	return Redeemed{Settled: SettledCancelled, CancelReason: reason}, cause
}

// compensate is step (d): cancel a redemption whose hold was placed but whose coupon
// could not be issued, and void the hold. couponID and code are those of the completion
// that failed, if one was tried: its commit may have succeeded after all.
func (h RedeemHandler) compensate(ctx context.Context, r domain.Redemption, holdID, reason string, cause error, couponID string, code domain.CouponCode) (Redeemed, error) {
	if !errors.Is(cause, domain.ErrRedemptionCancelled) {
		h.log.ErrorContext(ctx, "redemption failed after its hold was placed; cancelling it", "redemption_id", r.ID, "hold_id", holdID, "err", cause)
	}
	_, err := h.cancel(ctx, r.ID, holdID, reason)
	switch {
	case errors.Is(err, ErrNotRequested):
		// The completion committed although its commit reported an error, or a racing
		// call settled the redemption.
		return h.current(ctx, r.ID, couponID, code)
	case err != nil:
		// Neither outcome could be written. Voiding now could undo a completion whose
		// commit only looked failed, so the hold is left to a retry with the same key or
		// to the settler of abandoned redemptions (either completes or cancels it).
		h.log.ErrorContext(ctx, "could not cancel the redemption; a retry or the settler of abandoned redemptions will",
			"redemption_id", r.ID, "hold_id", holdID, "err", err)
		return Redeemed{}, fmt.Errorf("redemption %s: %w", r.ID, cause)
	}
	// The ledger voids the hold when it reads redemption.cancelled, even if this process
	// dies now; voiding it here too gives the points back at once. Both are idempotent.
	if err := h.ledger.VoidHold(ctx, holdID, "redemption "+r.ID+" cancelled: "+reason); err != nil {
		h.log.WarnContext(ctx, "best-effort void failed; the ledger voids the hold from the cancellation event",
			"redemption_id", r.ID, "hold_id", holdID, "err", err)
	}
	return Redeemed{Settled: SettledCancelled, CancelReason: reason}, fmt.Errorf("redemption %s: %w", r.ID, cause)
}

// current reads a redemption that another step settled and answers with its outcome.
func (h RedeemHandler) current(ctx context.Context, id, couponID string, code domain.CouponCode) (Redeemed, error) {
	r, err := h.store.Redemption(ctx, id)
	if err != nil {
		return Redeemed{}, err
	}
	if r.Status == domain.StatusCompleted && couponID != "" && r.CouponID == couponID {
		return Redeemed{Redemption: r, Code: code}, nil
	}
	return h.settled(ctx, r)
}

// settled answers for a redemption that is completed or cancelled as the call that
// settled it did; the code only while the retry window is open.
func (h RedeemHandler) settled(ctx context.Context, r domain.Redemption) (Redeemed, error) {
	switch r.Status {
	case domain.StatusCompleted:
		return Redeemed{Redemption: r, Code: h.unseal(ctx, r)}, nil
	case domain.StatusCancelled:
		if r.CancelReason == domain.CancelInsufficientPoints {
			return Redeemed{}, fmt.Errorf("%w for redemption %s", domain.ErrInsufficientPoints, r.ID)
		}
		if r.CancelReason == domain.CancelMemberNotFound {
			return Redeemed{}, fmt.Errorf("%w: %s", domain.ErrMemberNotFound, r.MemberID)
		}
		return Redeemed{}, fmt.Errorf("%w: redemption %s (%s); retry with a new idempotency key",
			domain.ErrRedemptionCancelled, r.ID, r.CancelReason)
	}
	return Redeemed{}, fmt.Errorf("redemption %s is still %s", r.ID, r.Status)
}

// unseal returns a completed redemption's code while it is kept, else "".
func (h RedeemHandler) unseal(ctx context.Context, r domain.Redemption) domain.CouponCode {
	if len(r.SealedCode) == 0 {
		return ""
	}
	code, err := h.sealer.Open(r.ID, r.SealedCode)
	if err != nil {
		// The key changed (or, without REWARDS_CODE_KEY, another process sealed it): the
		// answer is the one after the window, not an error, as the coupon is issued.
		h.log.WarnContext(ctx, "a retry's coupon code cannot be unsealed; answering without it",
			"redemption_id", r.ID, "err", err)
		return ""
	}
	return code
}
