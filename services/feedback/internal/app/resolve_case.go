package app

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ResolveCaseCommand closes a case.
type ResolveCaseCommand struct {
	CaseID     string
	Outcome    domain.Outcome
	Note       string
	ResolvedBy string
	// RootCause is the root-cause category.
	RootCause string
	// Actor confines the resolution to the actor's teams (ResolvedBy names who acted).
	Actor Actor
	// Roles are the caller's: their highest goodwill limit applies.
	Roles []string
	// GoodwillPoints, when above zero, are granted to the case's member (once: the case
	// is resolved once) with GoodwillReason.
	GoodwillPoints int64
	GoodwillReason string
	// GoodwillRewardID, when set, is a coupon reward of the rewards catalogue given free
	// to the member; the goodwill worker asks the rewards service for it after commit.
	GoodwillRewardID string
}

// ResolveCase closes a case with an outcome; of two agents resolving it at once, one
// wins and the other gets domain.ErrAlreadyResolved.
type ResolveCase struct {
	store  Store
	clock  func() time.Time
	life   lifecycle
	policy domain.GoodwillPolicy
	// rewards: whether the rewards service is configured (FEEDBACK_REWARDS_ADDR).
	rewards bool
}

// ErrGoodwillRewardsOff: a reward was asked for, but no rewards service is configured.
var ErrGoodwillRewardsOff = errors.New("no rewards service is configured (FEEDBACK_REWARDS_ADDR): goodwill rewards are off")

// MayGrantReward reports whether a caller with roles may grant a coupon reward as
// goodwill (and the rewards service is configured).
func (h ResolveCase) MayGrantReward(roles []string) bool {
	return h.rewards && slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(h.policy.RewardRoles, r) })
}

// Handle returns the resolved case, or domain.ErrCaseNotFound, domain.ErrOutcomeNotAllowed
// or domain.ErrAlreadyResolved; with goodwill also domain.ErrGoodwillAnonymous, a
// *domain.GoodwillLimitError, domain.ErrGoodwillRewardNotAllowed,
// domain.ErrGoodwillAlreadyGranted or ErrGoodwillRewardsOff.
func (h ResolveCase) Handle(ctx context.Context, cmd ResolveCaseCommand) (CaseView, error) {
	var resolved domain.Case
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		// Locked: of two resolutions at once, the second waits and finds the case resolved.
		c, err := locked(ctx, tx, cmd.Actor, cmd.CaseID)
		if err != nil {
			return err
		}
		team, _, err := h.life.team(ctx, tx, c.Team)
		if err != nil {
			return err
		}
		now := h.clock()
		t, err := c.ResolveWith(team.Calendar, cmd.Outcome, cmd.RootCause, cmd.Note, cmd.ResolvedBy, now)
		if err != nil {
			return err
		}
		// Goodwill goes with the resolution, once per case: a case reopened after a grant
		// refuses a second (AddGoodwill), as the ledger books one grant per case.
		var events []domain.Event
		ask := domain.GoodwillAsk{Points: cmd.GoodwillPoints, RewardID: cmd.GoodwillRewardID, Reason: cmd.GoodwillReason,
			By: cmd.ResolvedBy, Roles: cmd.Roles}
		if ask.Any() {
			g, err := h.policy.Grant(c, ask, now)
			if err != nil {
				return err
			}
			if g.RewardID != "" && !h.rewards {
				return ErrGoodwillRewardsOff
			}
			if err := tx.AddGoodwill(ctx, g); err != nil {
				return err
			}
			events = append(events, domain.GoodwillGranted{Goodwill: g})
		}
		if resolved, err = tx.SaveCase(ctx, c); err != nil {
			return err
		}
		if err := tx.AddHistory(ctx, t); err != nil {
			return err
		}
		return tx.Emit(ctx, append([]domain.Event{domain.CaseResolved{Case: resolved}}, events...)...)
	})
	if err != nil {
		return CaseView{}, err
	}
	return CaseView{Case: resolved, Overdue: false, At: h.clock()}, nil
}
