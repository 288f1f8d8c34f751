package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// RouteResponses opens the case each response's first matching rule calls for.
type RouteResponses struct {
	store Store
	rules RuleCompiler
	clock func() time.Time
	newID func() string
	log   *slog.Logger
}

// Handle routes a batch of responses and returns how many cases it opened; a response
// that already has its case (an event delivered twice under two ids) opens none. A
// response that breaks the survey contract fails the batch with an error wrapping
// domain.ErrInvalidResponse. The response of a member already erased is routed, and its
// case stored and announced, without personal data.
func (h RouteResponses) Handle(ctx context.Context, responses []domain.Response) (int, error) {
	batch := make([]domain.Response, 0, len(responses))
	seen := make(map[string]bool, len(responses))
	members := make([]string, 0, len(responses))
	for _, r := range responses {
		if err := r.Normalize(); err != nil {
			return 0, fmt.Errorf("response %s: %w", r.ResponseID, err)
		}
		if seen[r.ResponseID] {
			continue
		}
		seen[r.ResponseID] = true
		batch = append(batch, r)
		if r.MemberID != "" {
			members = append(members, r.MemberID)
		}
	}
	// Answers to a resolved case's follow-up survey are linked to it, not routed.
	batch, followUps := splitFollowUps(batch)
	opened := 0
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		rules, err := tx.ActiveRules(ctx)
		if err != nil {
			return err
		}
		erased := map[string]bool{}
		if len(members) > 0 {
			if erased, err = tx.ErasedMembers(ctx, members); err != nil {
				return err
			}
		}
		followed, err := linkFollowUps(ctx, tx, followUps, erased)
		if err != nil {
			return err
		}
		if len(followed) < len(followUps) {
			// Of a case unknown here, or answered before: nothing to link, no case to open.
			h.log.InfoContext(ctx, "follow-up answers not linked", "answers", len(followUps), "linked", len(followed))
		}
		matcher := h.rules.Compile(rules)
		now := h.clock()
		cases := make([]domain.Case, 0, len(batch))
		for _, r := range batch {
			gone := erased[r.MemberID]
			if gone {
				r.Anonymise()
			}
			rule, ok := matcher.Match(r)
			if !ok {
				continue
			}
			c := domain.OpenCase(h.newID(), r, rule, now)
			if gone {
				c.Anonymise(now)
			}
			cases = append(cases, c)
		}
		if len(cases) == 0 {
			return tx.Emit(ctx, followed...)
		}
		stored, err := tx.AddCases(ctx, cases)
		if err != nil {
			return err
		}
		events := make([]domain.Event, len(stored))
		for i, c := range stored {
			events[i] = domain.CaseOpened{Case: c}
		}
		opened = len(stored)
		if err := withReferralCodes(ctx, tx, events); err != nil {
			return err
		}
		return tx.Emit(ctx, append(events, followed...)...)
	})
	if err != nil {
		return 0, err
	}
	h.log.DebugContext(ctx, "responses routed", "responses", len(responses), "cases_opened", opened)
	return opened, nil
}
