package app

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/services/survey/internal/domain"
)

// Incoming is a trigger as it arrived, with the trace of the event that reported it, so
// that the invitation it causes continues that trace.
type Incoming struct {
	domain.Trigger
	Trace context.Context
}

// EvaluateTriggers turns purchases and other contacts into invitations, within the
// contact policy. Most triggers earn nothing (the member was asked recently or did not
// consent); that path costs one statement for the whole batch.
type EvaluateTriggers struct {
	store Store
	cfg   Config
	links *Links
	now   func() time.Time
}

// Evaluated is what an evaluation of triggers came to, for the operators' counters.
type Evaluated struct {
	// Invited triggers earned an invitation.
	Invited int
	// Suppressed triggers earned none and never will: the contact policy (no consent,
	// asked recently, another trigger of the member in the batch) or an erasure.
	// Triggers parked for a member not known yet are neither: they are evaluated again
	// when the member arrives.
	Suppressed int
}

// Handle evaluates a batch of triggers in one transaction (an event consumer's batch
// transaction, when it runs in one). Triggers without a member (anonymous purchases)
// earn nothing.
func (h *EvaluateTriggers) Handle(ctx context.Context, in []Incoming) (Evaluated, error) {
	known := make([]Incoming, 0, len(in))
	for _, t := range in {
		if t.MemberID != "" {
			known = append(known, t)
		}
	}
	if len(known) == 0 {
		return Evaluated{}, nil
	}
	var out Evaluated
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) (err error) {
		out, err = h.evaluate(ctx, tx, known)
		return err
	})
	if err != nil {
		return Evaluated{}, err
	}
	return out, nil
}

// evaluate evaluates triggers of members inside tx.
func (h *EvaluateTriggers) evaluate(ctx context.Context, tx Tx, in []Incoming) (Evaluated, error) {
	if len(in) == 0 {
		return Evaluated{}, nil
	}
	now := h.now().UTC()
	notAfter := h.cfg.Contact.NotAfter(now)

	byEvent := make(map[string]Incoming, len(in))
	all := make([]domain.Trigger, len(in))
	for i, t := range in {
		byEvent[t.EventID] = t
		all[i] = t.Trigger
	}
	chosen := domain.LatestPerMember(all)
	states, err := tx.ClaimContacts(ctx, chosen, now, notAfter)
	if err != nil {
		return Evaluated{}, fmt.Errorf("claim contacts: %w", err)
	}
	claimed := map[string]string{} // member -> locale
	var unknown []string
	for _, s := range states {
		switch s.Status {
		case ContactClaimed:
			claimed[s.MemberID] = s.Locale
		case ContactUnknown:
			unknown = append(unknown, s.MemberID)
		}
	}
	parked := 0
	if len(unknown) > 0 {
		if parked, err = h.park(ctx, tx, unknown, chosen, all, now, notAfter, claimed); err != nil {
			return Evaluated{}, err
		}
	}

	invs := make([]domain.Invitation, 0, len(claimed))
	for _, t := range chosen {
		locale, ok := claimed[t.MemberID]
		if !ok {
			continue
		}
		id, err := uuid.NewV7()
		if err != nil {
			return Evaluated{}, err
		}
		invs = append(invs, domain.NewInvitation(id.String(), h.cfg.SurveyID, t, locale, now, h.cfg.LinkTTL))
	}
	// What is not invited now, nor parked, nor invited before (a trigger delivered
	// again under another event id), is suppressed.
	out := Evaluated{Suppressed: len(in) - parked}
	if len(invs) == 0 {
		return out, nil
	}
	created, err := tx.CreateInvitations(ctx, invs)
	if err != nil {
		return Evaluated{}, fmt.Errorf("create invitations: %w", err)
	}
	isNew := make(map[string]bool, len(created))
	for _, id := range created {
		isNew[id] = true
	}
	for _, inv := range invs {
		if !isNew[inv.ID] {
			out.Suppressed-- // its trigger already has an invitation
			continue
		}
		out.Invited++
		out.Suppressed--
		url, err := h.links.URL(inv)
		if err != nil {
			return Evaluated{}, err
		}
		trace := byEvent[inv.TriggerEventID].Trace
		if trace == nil {
			trace = ctx
		}
		// One Emit per invitation: each continues the trace of its own trigger.
		if err := tx.Emit(trace, domain.InvitationCreated{Invitation: inv, URL: url}); err != nil {
			return Evaluated{}, err
		}
	}
	return out, nil
}

// park keeps the triggers of members not known yet and returns how many it kept. It first locks those members and
// looks again: their enrolment may have committed since the first look, and parking
// after that enrolment took its parked triggers would strand these.
func (h *EvaluateTriggers) park(ctx context.Context, tx Tx, unknown []string, chosen, all []domain.Trigger,
	now, notAfter time.Time, claimed map[string]string) (int, error) {
	if err := tx.LockMembers(ctx, unknown); err != nil {
		return 0, fmt.Errorf("lock members: %w", err)
	}
	isUnknown := make(map[string]bool, len(unknown))
	for _, id := range unknown {
		isUnknown[id] = true
	}
	var again []domain.Trigger
	for _, t := range chosen {
		if isUnknown[t.MemberID] {
			again = append(again, t)
		}
	}
	states, err := tx.ClaimContacts(ctx, again, now, notAfter)
	if err != nil {
		return 0, fmt.Errorf("claim contacts: %w", err)
	}
	stillUnknown := map[string]bool{}
	for _, s := range states {
		switch s.Status {
		case ContactClaimed:
			claimed[s.MemberID] = s.Locale
		case ContactUnknown:
			stillUnknown[s.MemberID] = true
		}
	}
	var parked []domain.Trigger
	for _, t := range all {
		if stillUnknown[t.MemberID] {
			parked = append(parked, t)
		}
	}
	if len(parked) == 0 {
		return 0, nil
	}
	if err := tx.ParkTriggers(ctx, parked, now); err != nil {
		return 0, fmt.Errorf("park triggers: %w", err)
	}
	return len(parked), nil
}
