package app

import (
	"context"

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
	// yet, and returns those it linked.
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
