package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// DefaultPageSize is the page size of a list request that asks for none.
const DefaultPageSize = 50

// ListCasesQuery is a page request.
type ListCasesQuery struct {
	Team        string
	Status      domain.Status
	OnlyOverdue bool
	PageSize    int
	After       *Cursor
	Assignee    string
	ByDue       bool
	// Actor confines the listing to the actor's teams.
	Actor Actor
}

// CaseView is a case as callers see it: with whether it is overdue now (and, from
// GetCase, its history and notes).
type CaseView struct {
	domain.Case
	Overdue bool
	History []domain.Transition
	Notes   []domain.Note
	// At is when the view was taken (what Overdue is measured against).
	At time.Time
	// ReferralCode is the member's, on a referral request; FollowUp the answer to the
	// survey sent when the case was resolved, nil until it arrives.
	ReferralCode string
	FollowUp     *domain.FollowUp
	// Customer is the member behind the case (GetCase, for roles that may see it).
	Customer *Customer
	// TouchpointKey is the reference of the touchpoint behind the response (GetCase).
	TouchpointKey string
	// GoodwillReward is the coupon reward the case's goodwill granted (GetCase); nil
	// when none.
	GoodwillReward *domain.GoodwillReward
}

// CasePage is one page of cases and where the next one starts (nil at the end).
type CasePage struct {
	Cases []CaseView
	Next  *Cursor
}

// ListCases pages through cases, newest first.
type ListCases struct {
	store Store
	clock func() time.Time
}

func (h ListCases) Handle(ctx context.Context, q ListCasesQuery) (CasePage, error) {
	size := q.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	now := h.clock()
	if q.Team != "" && !q.Actor.May(q.Team) {
		return CasePage{}, ErrNotYourTeam
	}
	f := CaseFilter{Team: q.Team, Status: q.Status, After: q.After, Limit: size + 1,
		Assignee: q.Assignee, Teams: q.Actor.Teams, ByDue: q.ByDue}
	if q.OnlyOverdue {
		f.OverdueAt = now
	}
	list, err := h.store.Cases(ctx, f)
	if err != nil {
		return CasePage{}, err
	}
	var page CasePage
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		page.Next = &Cursor{OpenedAt: last.OpenedAt, CaseID: last.ID}
		if q.ByDue {
			_, due, _ := last.NextDeadline()
			page.Next.OpenedAt = due
		}
	}
	page.Cases = make([]CaseView, len(list))
	for i, c := range list {
		page.Cases[i] = view(c, now)
	}
	return page, withLoop(ctx, h.store, page.Cases)
}
