package app

import (
	"context"
	"slices"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// ClaimPurchase credits a member with a purchase recorded without them.
type ClaimPurchase struct{ *base }

// Handle claims the purchase r names for r's member and credits what it earns, once:
// a purchase credited to a member already (when recorded or by a claim) is
// domain.ErrAlreadyClaimed; a retry with the same idempotency key and request returns
// the first claim, with another request domain.ErrIdempotencyKeyReused. A purchase
// unknown or with another total is domain.ErrPurchaseNotFound, one older than the claim
// window domain.ErrClaimWindowClosed; an unknown or erased member
// domain.ErrMemberNotFound. The claim is audited: it moves points.
func (u *ClaimPurchase) Handle(ctx context.Context, actor domain.Actor, r domain.ClaimRequest) (domain.Claim, error) {
	memberID, ok := domain.CanonicalUUID(r.MemberID)
	if !ok {
		return domain.Claim{}, domain.ErrMemberNotFound
	}
	r.MemberID = memberID
	hash := r.Hash()
	var claim domain.Claim
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		// The purchase first: of two claims at once, the second waits here, then finds
		// the first's claim (by its key, or the purchase credited).
		ps, err := tx.LockPurchases(ctx, []domain.PurchaseKey{r.Key})
		if err != nil {
			return err
		}
		if c, h, found, err := tx.ClaimByKey(ctx, r.IdempotencyKey); err != nil || found {
			if err == nil && h != hash {
				err = domain.ErrIdempotencyKeyReused
			}
			claim = c
			return err
		}
		p, ok := ps[r.Key]
		if !ok {
			return domain.ErrPurchaseNotFound
		}
		now := u.clock()
		if err := domain.CheckClaim(p, r.TotalMinor, now, u.cfg.ClaimWindow); err != nil {
			return err
		}
		balances, err := tx.LockMembers(ctx, []string{memberID})
		if err != nil {
			return err
		}
		if _, known := balances[memberID]; !known {
			return domain.ErrMemberNotFound
		}
		// Earned as the rules live when the purchase was made said (caps and budgets as
		// they stand now).
		p.MemberID = memberID
		earnings, err := u.earnAsOf(ctx, tx, []domain.Purchase{p})
		if err != nil {
			return err
		}
		points := earnings.explanations[p.Key].Total
		claim = domain.Claim{Key: r.Key, MemberID: memberID, Points: points, Channel: r.Channel, Actor: actor, ClaimedAt: now}
		var events []domain.Event
		if points > 0 {
			claim.LedgerTxID = u.newID()
			// Credited as the till's purchase would have been: pending while the return
			// window is open, one lot per expiry, paying back a debt first.
			p.Points, p.LedgerTxID = points, claim.LedgerTxID
			t, lots := u.purchaseCredit(p, earnings.lotParts(p.Key), now)
			if err := tx.Apply(ctx, []domain.Transaction{t}); err != nil {
				return err
			}
			var c credits
			c.add(t, lots)
			repaid, err := u.keepCredits(ctx, tx, c, now)
			if err != nil {
				return err
			}
			earnEvents, err := u.storeEarnings(ctx, tx, earnings, []domain.Purchase{p})
			if err != nil {
				return err
			}
			events = slices.Concat([]domain.Event{creditEvent(t, points, r.Key.StoreID)}, repaid, earnEvents)
			// The claimed purchase counts towards the member's tier as if the till had named them.
			if err := u.qualifyAndUpgrade(ctx, tx, purchaseQualifying([]domain.Purchase{p}, map[domain.PurchaseKey]int64{p.Key: 0}, u.cfg.Currency)); err != nil {
				return err
			}
		}
		if err := tx.SaveClaim(ctx, claim, r.IdempotencyKey, hash); err != nil {
			return err
		}
		if err := u.audit(ctx, tx, actor, "purchase.claim", "purchase", r.Key.Reference(), nil, struct {
			MemberID string         `json:"member_id"`
			Points   int64          `json:"points"`
			Channel  domain.Channel `json:"channel"`
		}{memberID, points, r.Channel}, ""); err != nil {
			return err
		}
		return tx.Emit(ctx, events...)
	})
	if err != nil {
		return domain.Claim{}, err
	}
	return claim, nil
}

// DefaultClaimWindow is how long after a purchase it may be claimed unless configured.
const DefaultClaimWindow = 90 * 24 * time.Hour
