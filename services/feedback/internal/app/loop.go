package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// LoopTx is what the closed loop keeps inside a transaction: the members' referral codes
// (a copy of the ledger's) and the follow-up answers linked to cases.
type LoopTx interface {
	// ReferralCodes returns the codes of those of the members that have one.
	ReferralCodes(ctx context.Context, memberIDs []string) (map[string]string, error)
	// SaveReferralCodes stores the members' codes, except those of erased members.
	SaveReferralCodes(ctx context.Context, codes []domain.ReferralCode) error
	// ForgetReferralCodes removes the members' codes and keeps them from coming back.
	ForgetReferralCodes(ctx context.Context, memberIDs []string) error
	// AddFollowUps links each follow-up to its case when the case exists and has none
	// yet, or replaces the case's answer when the case was resolved again after that
	// answer arrived, and returns those it linked.
	AddFollowUps(ctx context.Context, followUps []domain.FollowUp) ([]domain.FollowUp, error)
}

// LoopStore reads what the closed loop keeps.
type LoopStore interface {
	// ReferralCodes returns the codes of those of the members that have one.
	ReferralCodes(ctx context.Context, memberIDs []string) (map[string]string, error)
	// FollowUps returns the follow-ups of those of the cases that have one.
	FollowUps(ctx context.Context, caseIDs []string) (map[string]domain.FollowUp, error)
}

// withLoop adds to views what the closed loop knows of their cases: the member's
// referral code on a referral request, and the follow-up answer.
func withLoop(ctx context.Context, store LoopStore, views []CaseView) error {
	if len(views) == 0 {
		return nil
	}
	members := make([]string, 0, len(views))
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
		if v.Kind == domain.KindReferralRequest && v.MemberID != "" {
			members = append(members, v.MemberID)
		}
	}
	codes := map[string]string{}
	if len(members) > 0 {
		var err error
		if codes, err = store.ReferralCodes(ctx, members); err != nil {
			return err
		}
	}
	followUps, err := store.FollowUps(ctx, ids)
	if err != nil {
		return err
	}
	for i := range views {
		v := &views[i]
		if v.Kind == domain.KindReferralRequest && v.MemberID != "" {
			v.ReferralCode = codes[v.MemberID]
		}
		if f, ok := followUps[v.ID]; ok {
			v.FollowUp = &f
		}
	}
	return nil
}

// splitFollowUps separates the responses that answer a resolved case's follow-up
// survey (touchpoint key "case:<id>") from those to route.
func splitFollowUps(responses []domain.Response) (route []domain.Response, followUps []domain.FollowUp) {
	route = responses[:0:0]
	for _, r := range responses {
		if id, ok := domain.FollowUpCaseID(r.TouchpointKey); ok {
			followUps = append(followUps, domain.FollowUpOf(id, r))
			continue
		}
		route = append(route, r)
	}
	return route, followUps
}

// linkFollowUps links follow-ups to their cases (without the personal data of erased
// members) and returns the events of those linked.
func linkFollowUps(ctx context.Context, tx Tx, followUps []domain.FollowUp, erased map[string]bool) ([]domain.Event, error) {
	if len(followUps) == 0 {
		return nil, nil
	}
	// A case keeps its first answer: of a batch's answers to one case, the earliest
	// (then the smaller response id), whatever order the batch has them in.
	first := make(map[string]domain.FollowUp, len(followUps))
	for _, f := range followUps {
		if cur, ok := first[f.CaseID]; !ok || f.ReceivedAt.Before(cur.ReceivedAt) ||
			(f.ReceivedAt.Equal(cur.ReceivedAt) && f.ResponseID < cur.ResponseID) {
			first[f.CaseID] = f
		}
	}
	kept := make([]domain.FollowUp, 0, len(first))
	for _, f := range followUps {
		if first[f.CaseID].ResponseID != f.ResponseID {
			continue
		}
		if erased[f.MemberID] {
			f.MemberID, f.Comment = "", ""
		}
		kept = append(kept, f)
	}
	linked, err := tx.AddFollowUps(ctx, kept)
	if err != nil {
		return nil, err
	}
	events := make([]domain.Event, len(linked))
	for i, f := range linked {
		events[i] = domain.FollowUpReceived{FollowUp: f}
	}
	return events, nil
}

// withReferralCodes puts the member's referral code on the CaseOpened events of
// referral requests.
func withReferralCodes(ctx context.Context, tx Tx, events []domain.Event) error {
	var members []string
	for _, e := range events {
		if o, ok := e.(domain.CaseOpened); ok && o.Case.Kind == domain.KindReferralRequest && o.Case.MemberID != "" {
			members = append(members, o.Case.MemberID)
		}
	}
	if len(members) == 0 {
		return nil
	}
	codes, err := tx.ReferralCodes(ctx, members)
	if err != nil {
		return err
	}
	for i, e := range events {
		if o, ok := e.(domain.CaseOpened); ok && o.Case.Kind == domain.KindReferralRequest && o.Case.MemberID != "" {
			o.ReferralCode = codes[o.Case.MemberID]
			events[i] = o
		}
	}
	return nil
}

// reopenUnsolved reopens the cases whose follow-up answer says the problem is not solved
// (domain.FollowUp.Unsolved): the customer's word puts the case back in its team's queue,
// with the answer as the note, and its assignee is told. A case no longer resolved or
// closed (reopened by an agent meanwhile), or merged into another, stays as it is.
func (l lifecycle) reopenUnsolved(ctx context.Context, tx Tx, followed []domain.Event, now time.Time) ([]domain.Event, []Notification, error) {
	var unsolved []domain.FollowUp
	for _, e := range followed {
		if f, ok := e.(domain.FollowUpReceived); ok && f.FollowUp.Unsolved() {
			unsolved = append(unsolved, f.FollowUp)
		}
	}
	// Cases are locked in one order, so that two batches cannot deadlock.
	slices.SortFunc(unsolved, func(a, b domain.FollowUp) int { return cmp.Compare(a.CaseID, b.CaseID) })
	var events []domain.Event
	var mail []Notification
	for _, f := range unsolved {
		c, err := tx.CaseForUpdate(ctx, f.CaseID)
		if err != nil {
			return nil, nil, err
		}
		note := fmt.Sprintf("the customer says the problem is not solved (%s %d)", f.ScoreKind, f.Score)
		if f.Comment != "" {
			note += ": " + f.Comment
		}
		t, err := c.Reopen(domain.ReopenedBy, now, note)
		if errors.Is(err, domain.ErrIllegalTransition) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if c, err = tx.SaveCase(ctx, c); err != nil {
			return nil, nil, err
		}
		if err := tx.AddHistory(ctx, t); err != nil {
			return nil, nil, err
		}
		events = append(events, domain.CaseChanged{Case: c, Transition: t})
		if c.Assignee == "" {
			continue
		}
		_, staff, err := l.team(ctx, tx, c.Team)
		if err != nil {
			return nil, nil, err
		}
		if s, ok := staffByID(staff, c.Assignee); ok {
			mail = append(mail, reopenedMail(s, c, note))
		}
	}
	return events, mail, nil
}

// reopenedMail tells s that the customer of their case c says it is not solved.
func reopenedMail(s domain.Staff, c domain.Case, note string) Notification {
	return Notification{
		To:      s,
		CaseID:  c.ID,
		Subject: fmt.Sprintf("Case %s reopened: the customer says the problem is not solved", c.ID),
		Body: fmt.Sprintf("Hello %s,\n\nthe case %s (%s, team %s) was resolved, and the customer answered the follow-up survey: %s.\n"+
			"It is open again. Resolution due: %s\n",
			s.Name, c.ID, c.Kind, c.Team, note, stamp(c.DueAt)),
	}
}
