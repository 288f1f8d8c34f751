package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// EvaluateTriggers turns touchpoints into scheduled invitations: the trigger rules
// choose the survey, the delay and the sample; the contact policy at trigger time
// (erased, returned purchase, consent, open case, frequency cap) may hold the
// invitation back, which is recorded with its reason. A batch costs one read when
// nothing is written (no rule matches, or nobody is sampled), and one more statement
// per kind of write otherwise.
type EvaluateTriggers struct {
	store  Store
	cfg    Config
	links  *Links
	now    func() time.Time
	engine *domain.TriggerEngine

	mu    sync.Mutex
	rules *domain.RuleSet
}

// Evaluated is what an evaluation of triggers came to, for the operators' counters.
type Evaluated struct {
	// Invited triggers earned an invitation.
	Invited int
	// Suppressed triggers were held back by the contact policy, by reason (a touchpoint
	// held back before, reported again, is not counted again).
	Suppressed map[domain.SuppressionReason]int
	// SampledOut triggers matched a rule whose sample left the member out; NoRule ones
	// matched no rule. Neither is recorded.
	SampledOut, NoRule int
	// Parked triggers wait for their member's enrolment.
	Parked int
	// Results are the outcomes by the trigger's event id.
	Results map[string]Result
}

// Result is what became of one trigger.
type Result struct {
	Outcome    domain.Outcome
	Invitation *domain.Invitation
	// InvitationID is the invitation of a touchpoint evaluated before.
	InvitationID string
	// URL is the invitation's link (RecordTouchpoint fills it).
	URL string
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

// publishedVersions reads the version each survey's invitations are made for: the one
// published at the moment of the trigger. A batch names few surveys, so it reads each
// once; a survey retired (or never published) meanwhile has no entry.
func (h *EvaluateTriggers) publishedVersions(ctx context.Context, surveyIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(surveyIDs))
	for _, id := range surveyIDs {
		if _, seen := out[id]; seen {
			continue
		}
		v, err := h.store.PublishedVersion(ctx, id)
		switch {
		case errors.Is(err, domain.ErrSurveyRetired), errors.Is(err, domain.ErrNoPublishedVersion),
			errors.Is(err, domain.ErrSurveyNotFound):
			v = 0
		case err != nil:
			return nil, fmt.Errorf("published version of survey %s: %w", id, err)
		}
		out[id] = v
	}
	return out, nil
}

// ruleSet returns the active rules as of epoch, compiling them again only when the
// epoch moved.
func (h *EvaluateTriggers) ruleSet(ctx context.Context, tx Tx, epoch int64) (*domain.RuleSet, error) {
	h.mu.Lock()
	cur := h.rules
	h.mu.Unlock()
	if cur != nil && cur.Epoch == epoch {
		return cur, nil
	}
	stored, err := tx.TriggerRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("trigger rules: %w", err)
	}
	compiled := make([]*domain.CompiledRule, 0, len(stored))
	for _, r := range stored {
		c, err := h.engine.Compile(r)
		if err != nil {
			// Checked when stored: only a change of the engine's environment gets here.
			continue
		}
		compiled = append(compiled, c)
	}
	set := domain.NewRuleSet(epoch, compiled)
	h.mu.Lock()
	if h.rules == nil || h.rules.Epoch <= epoch {
		h.rules = set
	}
	h.mu.Unlock()
	return set, nil
}

// candidate is a trigger the rules chose and the policy (but for the cap) allows.
type candidate struct {
	in   Incoming
	rule *domain.CompiledRule
	st   TriggerState
}

// evaluate evaluates triggers of members inside tx.
func (h *EvaluateTriggers) evaluate(ctx context.Context, tx Tx, in []Incoming) (Evaluated, error) {
	out := Evaluated{Suppressed: map[domain.SuppressionReason]int{}, Results: map[string]Result{}}
	if len(in) == 0 {
		return out, nil
	}
	now := h.now().UTC()
	notAfter := h.cfg.Contact.NotAfter(now)

	ts := make([]domain.Trigger, len(in))
	for i, t := range in {
		ts[i] = t.Trigger
	}
	states, epoch, err := tx.TriggerStates(ctx, ts, notAfter)
	if err != nil {
		return out, fmt.Errorf("trigger states: %w", err)
	}
	// Members not known here: look again under their lock (an enrolment may have
	// committed since the first look, and parking after that enrolment took its parked
	// triggers would strand these), then park what is still unknown.
	var unknown []string
	var unknownIdx []int
	for i, s := range states {
		if !s.Member.Known && !s.Member.Erased {
			unknown = append(unknown, in[i].MemberID)
			unknownIdx = append(unknownIdx, i)
		}
	}
	if len(unknown) > 0 {
		if err := tx.LockMembers(ctx, unknown); err != nil {
			return out, fmt.Errorf("lock members: %w", err)
		}
		again := make([]domain.Trigger, len(unknownIdx))
		for j, i := range unknownIdx {
			again[j] = ts[i]
		}
		st2, _, err := tx.TriggerStates(ctx, again, notAfter)
		if err != nil {
			return out, fmt.Errorf("trigger states: %w", err)
		}
		var park []domain.Trigger
		for j, i := range unknownIdx {
			states[i] = st2[j]
			if !st2[j].Member.Known && !st2[j].Member.Erased {
				park = append(park, ts[i])
				out.Results[ts[i].EventID] = Result{Outcome: domain.OutcomeParked}
			}
		}
		if len(park) > 0 {
			if err := tx.ParkTriggers(ctx, park, now); err != nil {
				return out, fmt.Errorf("park triggers: %w", err)
			}
			out.Parked = len(park)
		}
	}

	rules, err := h.ruleSet(ctx, tx, epoch)
	if err != nil {
		return out, err
	}
	var suppressions []domain.Suppression
	suppress := func(t domain.Trigger, ruleID string, reason domain.SuppressionReason, memberID string) error {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		suppressions = append(suppressions, domain.Suppression{
			ID: id.String(), MemberID: memberID, TriggerID: ruleID, Touchpoint: t.Touchpoint,
			Key: t.Key, Reason: reason, At: now,
		})
		out.Results[t.EventID] = Result{Outcome: domain.SuppressedOutcome(reason)}
		return nil
	}
	// The latest candidate of each member is the one to ask about.
	best := map[string]candidate{}
	var candidates []candidate
	seen := make(map[string]bool, len(in)) // touchpoint keys
	for i, t := range in {
		s := states[i]
		if _, parked := out.Results[t.EventID]; parked {
			continue
		}
		if seen[t.Key] { // the same touchpoint reported twice in the batch
			out.Results[t.EventID] = Result{Outcome: domain.OutcomeDuplicate}
			continue
		}
		seen[t.Key] = true
		if s.InvitationID != "" || s.SuppressedReason != "" {
			out.Results[t.EventID] = Result{Outcome: domain.OutcomeDuplicate, InvitationID: s.InvitationID}
			if s.SuppressedReason != "" {
				out.Results[t.EventID] = Result{Outcome: domain.SuppressedOutcome(s.SuppressedReason)}
			}
			continue
		}
		rule := rules.Choose(domain.FactsOf(t.Trigger, s.Member.Tier, s.Member.Tags))
		if rule == nil {
			out.NoRule++
			out.Results[t.EventID] = Result{Outcome: domain.OutcomeNoRule}
			continue
		}
		if !domain.Sampled(t.MemberID, rule.ID, rule.SamplingRate) {
			out.SampledOut++
			out.Results[t.EventID] = Result{Outcome: domain.OutcomeSampledOut}
			continue
		}
		if reason, ok := domain.PolicyAtTrigger(s.Member, s.Returned); !ok {
			member := t.MemberID
			if s.Member.Erased {
				member = "" // nothing of an erased member is kept but its pseudonymous id
			}
			if err := suppress(t.Trigger, rule.ID, reason, member); err != nil {
				return out, err
			}
			continue
		}
		c := candidate{in: t, rule: rule, st: s}
		candidates = append(candidates, c)
		if b, ok := best[t.MemberID]; !ok || t.OccurredAt.After(b.in.OccurredAt) ||
			(t.OccurredAt.Equal(b.in.OccurredAt) && t.EventID > b.in.EventID) {
			best[t.MemberID] = c
		}
	}
	// Capped members and the other triggers of a member in the batch are held back by
	// the frequency cap; the rest reserve their contact.
	surveys := make([]string, 0, len(candidates))
	for _, c := range candidates {
		surveys = append(surveys, c.rule.SurveyID)
	}
	versions, err := h.publishedVersions(ctx, surveys)
	if err != nil {
		return out, err
	}
	var reserve []string
	for _, c := range candidates {
		if versions[c.rule.SurveyID] == 0 {
			if err := suppress(c.in.Trigger, c.rule.ID, domain.SuppressedSurveyRetired, c.in.MemberID); err != nil {
				return out, err
			}
			continue
		}
		if best[c.in.MemberID].in.EventID != c.in.EventID || (c.st.Capped && !c.rule.ExemptFromFrequencyCap) {
			if err := suppress(c.in.Trigger, c.rule.ID, domain.SuppressedFrequencyCap, c.in.MemberID); err != nil {
				return out, err
			}
			continue
		}
		reserve = append(reserve, c.in.MemberID)
	}
	// A purchase's return may be committing meanwhile: registering the purchases waits
	// for it, or makes it wait for this transaction and then find the invitation.
	var purchaseKeys []string
	for _, m := range reserve {
		if t := best[m].in; t.Touchpoint == domain.TouchpointPurchase {
			purchaseKeys = append(purchaseKeys, t.Key)
		}
	}
	if len(purchaseKeys) > 0 {
		returned, err := tx.RegisterPurchases(ctx, purchaseKeys)
		if err != nil {
			return out, fmt.Errorf("register purchases: %w", err)
		}
		if len(returned) > 0 {
			isReturned := make(map[string]bool, len(returned))
			for _, k := range returned {
				isReturned[k] = true
			}
			kept := reserve[:0]
			for _, m := range reserve {
				c := best[m]
				if !isReturned[c.in.Key] {
					kept = append(kept, m)
					continue
				}
				if err := suppress(c.in.Trigger, c.rule.ID, domain.SuppressedReturned, m); err != nil {
					return out, err
				}
			}
			reserve = kept
		}
	}
	var invs []domain.Invitation
	if len(reserve) > 0 {
		reserved, err := h.reserveContacts(ctx, tx, reserve, best, now, notAfter)
		if err != nil {
			return out, fmt.Errorf("reserve contacts: %w", err)
		}
		ok := make(map[string]bool, len(reserved))
		for _, m := range reserved {
			ok[m] = true
		}
		// Invited meanwhile by a concurrent batch: the frequency cap, unless that batch
		// invited for this very touchpoint (its POS event and the ledger's match, say).
		var lost []domain.Trigger
		for _, m := range reserve {
			if !ok[m] {
				lost = append(lost, best[m].in.Trigger)
			}
		}
		if len(lost) > 0 {
			again, _, err := tx.TriggerStates(ctx, lost, notAfter)
			if err != nil {
				return out, fmt.Errorf("trigger states: %w", err)
			}
			for i, t := range lost {
				if again[i].InvitationID != "" {
					out.Results[t.EventID] = Result{Outcome: domain.OutcomeDuplicate, InvitationID: again[i].InvitationID}
					continue
				}
				if err := suppress(t, best[t.MemberID].rule.ID, domain.SuppressedFrequencyCap, t.MemberID); err != nil {
					return out, err
				}
			}
		}
		for _, m := range reserve {
			c := best[m]
			if !ok[m] {
				continue
			}
			version := versions[c.rule.SurveyID]
			id, err := uuid.NewV7()
			if err != nil {
				return out, err
			}
			invs = append(invs, domain.ScheduleInvitation(id.String(), c.rule.TriggerRule, version, c.in.Trigger,
				c.st.Member.Locale, now, h.cfg.LinkTTL))
		}
	}
	if len(invs) > 0 {
		if err := h.create(ctx, tx, invs, in, &out); err != nil {
			return out, err
		}
	}
	if len(suppressions) > 0 {
		if err := h.record(ctx, tx, suppressions, &out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// reserveContacts reserves the members' contacts: under the frequency cap (no
// invitation after notAfter), but for members whose rule is exempt from it, and returns
// those reserved.
func (h *EvaluateTriggers) reserveContacts(ctx context.Context, tx Tx, members []string, best map[string]candidate,
	now, notAfter time.Time) ([]string, error) {
	var capped, exempt []string
	for _, m := range members {
		if best[m].rule.ExemptFromFrequencyCap {
			exempt = append(exempt, m)
		} else {
			capped = append(capped, m)
		}
	}
	var reserved []string
	if len(capped) > 0 {
		r, err := tx.ReserveContacts(ctx, capped, now, notAfter)
		if err != nil {
			return nil, err
		}
		reserved = r
	}
	if len(exempt) > 0 {
		// Any earlier invitation allows this one (one dated ahead of now by a skewed
		// clock included).
		r, err := tx.ReserveContacts(ctx, exempt, now, now.Add(domain.MaxTouchpointClockSkew))
		if err != nil {
			return nil, err
		}
		reserved = append(reserved, r...)
	}
	return reserved, nil
}

// create stores the invitations and announces each, continuing its trigger's trace.
func (h *EvaluateTriggers) create(ctx context.Context, tx Tx, invs []domain.Invitation, in []Incoming, out *Evaluated) error {
	created, err := tx.CreateInvitations(ctx, invs)
	if err != nil {
		return fmt.Errorf("create invitations: %w", err)
	}
	isNew := make(map[string]bool, len(created))
	for _, id := range created {
		isNew[id] = true
	}
	traces := make(map[string]context.Context, len(in))
	for _, t := range in {
		traces[t.EventID] = t.Trace
	}
	for _, inv := range invs {
		if !isNew[inv.ID] { // its touchpoint got one meanwhile
			out.Results[inv.TriggerEventID] = Result{Outcome: domain.OutcomeDuplicate}
			continue
		}
		out.Invited++
		inv := inv
		out.Results[inv.TriggerEventID] = Result{Outcome: domain.OutcomeScheduled, Invitation: &inv}
		url, err := h.links.URL(inv)
		if err != nil {
			return err
		}
		trace := traces[inv.TriggerEventID]
		if trace == nil {
			trace = ctx
		}
		// One Emit per invitation: each continues the trace of its own trigger.
		if err := tx.Emit(trace, domain.InvitationCreated{Invitation: inv, URL: url}); err != nil {
			return err
		}
	}
	return nil
}

// record stores suppressions and announces those recorded (a touchpoint held back
// before is not announced again).
func (h *EvaluateTriggers) record(ctx context.Context, tx Tx, ss []domain.Suppression, out *Evaluated) error {
	ids, err := tx.AddSuppressions(ctx, ss)
	if err != nil {
		return fmt.Errorf("add suppressions: %w", err)
	}
	isNew := make(map[string]bool, len(ids))
	for _, id := range ids {
		isNew[id] = true
	}
	events := make([]domain.Event, 0, len(ids))
	for _, s := range ss {
		if isNew[s.ID] {
			out.Suppressed[s.Reason]++
			events = append(events, domain.InvitationSuppressed{Suppression: s})
		}
	}
	if len(events) == 0 {
		return nil
	}
	return tx.Emit(ctx, events...)
}
