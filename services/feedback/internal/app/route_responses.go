package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// RouteResponses routes every response: the first enabled rule that matches opens its
// case, or else the default route does (or records it without a case, when the default
// route is NONE).
type RouteResponses struct {
	store Store
	rules RuleCompiler
	clock func() time.Time
	newID func() string
	log   *slog.Logger
	life  lifecycle
	// stemmer tags the comments' topics; nil tags none.
	stemmer domain.Stemmer
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
	var mail []Notification
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
		reopened, reopenMail, err := h.life.reopenUnsolved(ctx, tx, followed, h.clock())
		if err != nil {
			return err
		}
		followed = append(followed, reopened...)
		// Reset first: InTx may run this function again.
		mail = append(mail[:0], reopenMail...)
		def, err := tx.DefaultRoute(ctx)
		if err != nil {
			return err
		}
		facts, err := factsFor(ctx, tx, batch)
		if err != nil {
			return err
		}
		taxonomy, err := tx.Topics(ctx)
		if err != nil {
			return err
		}
		tagResponses(taxonomy, h.stemmer, batch, facts)
		matcher := h.rules.Compile(rules)
		now := h.clock()
		cases := make([]domain.Case, 0, len(batch))
		ruleOf := make(map[string]domain.Rule, len(batch))
		routes := make([]RoutedResponse, 0, len(batch))
		for i, r := range batch {
			gone := erased[r.MemberID]
			if gone {
				r.Anonymise()
			}
			rule, ok := matcher.Match(r, facts[i])
			route := domain.Resolve(rule, ok, def, facts[i])
			routes = append(routes, RoutedResponse{ResponseID: r.ResponseID, Route: route})
			if route.NoCase() {
				continue
			}
			opening := route.Rule
			opening.Team = route.Team
			c := domain.OpenCase(h.newID(), r, opening, now)
			c.Topics = facts[i].Topics
			ruleOf[c.ID] = opening
			if gone {
				c.Anonymise(now)
			}
			cases = append(cases, c)
		}
		firstTime, err := tx.RecordRoutes(ctx, routes)
		if err != nil {
			return err
		}
		if len(cases) == 0 {
			return tx.Emit(ctx, append(followed, taggedEvents(batch, facts, firstTime, nil)...)...)
		}
		stored, err := tx.AddCases(ctx, cases)
		if err != nil {
			return err
		}
		if stored, err = keepTopics(ctx, tx, cases, stored); err != nil {
			return err
		}
		teams := teamCache{}
		events := make([]domain.Event, len(stored))
		// Assignment locks each team's cursor: teams are taken in one order, so that two
		// batches opening cases of the same teams cannot deadlock.
		order := make([]int, len(stored))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(stored[a].Team, stored[b].Team) })
		for _, i := range order {
			c, n, err := h.life.open(ctx, tx, stored[i], ruleOf[stored[i].ID], teams)
			if err != nil {
				return err
			}
			mail = append(mail, n...)
			events[i] = domain.CaseOpened{Case: c}
		}
		if err := teams.saveCursors(ctx, tx); err != nil {
			return err
		}
		opened = len(stored)
		if err := withReferralCodes(ctx, tx, events); err != nil {
			return err
		}
		return tx.Emit(ctx, slices.Concat(events, followed, taggedEvents(batch, facts, firstTime, stored))...)
	})
	if err != nil {
		return 0, err
	}
	h.life.notify(ctx, mail)
	h.log.DebugContext(ctx, "responses routed", "responses", len(responses), "cases_opened", opened)
	return opened, nil
}
