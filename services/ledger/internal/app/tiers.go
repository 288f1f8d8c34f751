package app

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// DefineTiers replaces the programme's tiers.
type DefineTiers struct{ *base }

// Handle validates p (a *domain.TierError names the field it refuses), stores it with
// the programme's currency and writes the audit log. Members in a tier it no longer
// defines are placed anew by the next evaluation or their next purchase.
func (u *DefineTiers) Handle(ctx context.Context, actor domain.Actor, p domain.TierProgramme) (domain.TierProgramme, error) {
	p.Currency, p.UpdatedAt = u.cfg.Currency, u.clock()
	if err := p.Validate(); err != nil {
		return domain.TierProgramme{}, err
	}
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		before, err := tx.TierProgramme(ctx)
		if err != nil {
			return err
		}
		if err := tx.SaveTierProgramme(ctx, p); err != nil {
			return err
		}
		return u.audit(ctx, tx, actor, "tiers.define", "tier_programme", "tiers", auditedProgramme(before), p, "")
	})
	if err != nil {
		return domain.TierProgramme{}, err
	}
	return p, nil
}

// auditedProgramme is nil for a programme never defined, so that the audit log says it
// did not exist.
func auditedProgramme(p domain.TierProgramme) any {
	if !p.Defined() {
		return nil
	}
	return p
}

// UpdateTier changes one tier's name and thresholds.
type UpdateTier struct{ *base }

// tierField strips the "tiers[i]." of a programme's field: the request names one tier.
var tierField = regexp.MustCompile(`^tiers\[\d+\]\.`)

// Handle changes the tier with t.Code (its rank stays) and writes the audit log.
// domain.ErrTierNotFound for an unknown code; a *domain.TierError for thresholds that
// no longer order the tiers.
func (u *UpdateTier) Handle(ctx context.Context, actor domain.Actor, t domain.Tier) (domain.TierProgramme, error) {
	var p domain.TierProgramme
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if p, err = tx.TierProgramme(ctx); err != nil {
			return err
		}
		before, i, ok := p.Tier(t.Code)
		if !ok {
			return domain.ErrTierNotFound
		}
		t.Rank = before.Rank
		p.Tiers[i], p.UpdatedAt = t, u.clock()
		if err := p.Validate(); err != nil {
			var te *domain.TierError
			if errors.As(err, &te) {
				return &domain.TierError{Field: tierField.ReplaceAllString(te.Field, ""), Reason: te.Reason}
			}
			return err
		}
		if err := tx.SaveTierProgramme(ctx, p); err != nil {
			return err
		}
		return u.audit(ctx, tx, actor, "tier.update", "tier", t.Code, before, t, "")
	})
	if err != nil {
		return domain.TierProgramme{}, err
	}
	return p, nil
}

// SetManualTier sets or removes a member's manual floor.
type SetManualTier struct{ *base }

// manualStanding is what the audit log keeps of a member's tier.
type manualStanding struct {
	Tier        string    `json:"tier"`
	ManualTier  string    `json:"manual_tier,omitempty"`
	ManualUntil time.Time `json:"manual_tier_until,omitzero"`
}

// Handle sets the floor code until until (code "" removes it): a member below it rises
// at once (reason manual, with an event). The audit log keeps note. Returns the member's
// standing afterwards.
func (u *SetManualTier) Handle(ctx context.Context, actor domain.Actor, memberID, code string, until time.Time, note string) (domain.TierStatus, error) {
	id, ok := domain.CanonicalUUID(memberID)
	if !ok {
		return domain.TierStatus{}, domain.ErrMemberNotFound
	}
	now := u.clock()
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		p, err := tx.TierProgramme(ctx)
		if err != nil {
			return err
		}
		if !p.Defined() {
			return &domain.TierError{Field: "tier", Reason: "the programme defines no tiers"}
		}
		states, err := tx.LockTierStates(ctx, []string{id}, p.PeriodStart(now))
		if err != nil {
			return err
		}
		if len(states) == 0 {
			return domain.ErrMemberNotFound
		}
		s := states[0]
		d, err := p.ManualTier(s, code, until.UTC(), now)
		if err != nil {
			return err
		}
		// The row is locked: the decision is stored.
		if _, err := tx.SaveTierDecisions(ctx, []domain.TierDecision{d}); err != nil {
			return err
		}
		if d.Changed() {
			if err := tx.Emit(ctx, d.Event(now)); err != nil {
				return err
			}
		}
		after := manualStanding{Tier: s.Tier, ManualTier: d.ManualTier, ManualUntil: d.ManualUntil}
		if d.Changed() {
			after.Tier = d.To
		}
		return u.audit(ctx, tx, actor, "tier.set_manual", "member", id,
			manualStanding{Tier: s.Tier, ManualTier: s.ManualTier, ManualUntil: s.ManualUntil}, after, note)
	})
	if err != nil {
		return domain.TierStatus{}, err
	}
	return tierStatus(ctx, u.store, id, now)
}

// ListTiers reads the programme.
type ListTiers struct{ *base }

// Handle returns the programme; no tiers when none are defined.
func (u *ListTiers) Handle(ctx context.Context) (domain.TierProgramme, error) {
	p, err := u.store.TierProgramme(ctx)
	if err == nil && !p.Defined() {
		p.Currency = u.cfg.Currency
	}
	return p, err
}

// GetTierStatus reads where a member stands.
type GetTierStatus struct{ *base }

// Handle returns the member's standing; domain.ErrMemberNotFound for an unknown id.
func (u *GetTierStatus) Handle(ctx context.Context, memberID string) (domain.TierStatus, error) {
	id, ok := domain.CanonicalUUID(memberID)
	if !ok {
		return domain.TierStatus{}, domain.ErrMemberNotFound
	}
	return tierStatus(ctx, u.store, id, u.clock())
}

func tierStatus(ctx context.Context, store Store, id string, now time.Time) (domain.TierStatus, error) {
	p, err := store.TierProgramme(ctx)
	if err != nil {
		return domain.TierStatus{}, err
	}
	// The months that may still count later too: a rolling window reaches back at most
	// MaxWindowMonths+1 months.
	from := p.PeriodStart(now)
	s, err := store.TierState(ctx, id, from)
	if err != nil {
		return domain.TierStatus{}, err
	}
	return p.Status(s, now), nil
}

// EvaluateTiers is the periodic evaluation: expired manual floors, due downgrades,
// members whose tier is no longer defined, and upgrades after a change of thresholds.
type EvaluateTiers struct {
	*base
	mu    sync.Mutex
	after string // the last member of the previous page; "" to start over
}

// Handle evaluates the next page of up to limit members in one transaction and reports
// how many it looked at (limit while more remain: a pass then continues) and how many
// changed tier. Every decision is taken on the locked rows and written with its event
// in the same transaction, so a pass cut short loses and repeats nothing: the next
// decides again from what was committed. Replicas skip each other's locked rows.
func (u *EvaluateTiers) Handle(ctx context.Context, limit int) (seen, changed int, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var last string
	err = u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		seen, changed, last = 0, 0, ""
		now := u.clock()
		p, err := tx.TierProgramme(ctx)
		if err != nil || !p.Defined() {
			return err
		}
		page, err := tx.LockTierPage(ctx, u.after, limit, p.PeriodStart(now))
		if err != nil {
			return err
		}
		seen = len(page)
		if seen > 0 {
			last = page[seen-1].MemberID
		}
		var ds []domain.TierDecision
		for _, s := range page {
			if d, ok := p.Evaluate(s, now); ok {
				ds = append(ds, d)
			}
		}
		events, err := saveTierDecisions(ctx, tx, ds, now)
		changed = len(events)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	if seen < limit {
		u.after = "" // the end: the next pass starts over
	} else {
		u.after = last
	}
	return seen, changed, nil
}

// Qualifying figures and upgrades at once: the tier step of the purchase and return
// batches.

// purchaseQualifying is what a batch's freshly booked purchases add to their members'
// figures: the points credited and, in the programme's currency, the spend.
func purchaseQualifying(ps []domain.Purchase, fresh map[domain.PurchaseKey]int64, currency string) []domain.Qualifying {
	var qs []domain.Qualifying
	for _, p := range ps {
		if _, ok := fresh[p.Key]; !ok || p.MemberID == "" {
			continue
		}
		q := domain.Qualifying{MemberID: p.MemberID, Month: domain.MonthOf(p.OccurredAt), Points: p.Points}
		if p.Currency == currency {
			q.SpendMinor = p.TotalMinor
		}
		qs = append(qs, q)
	}
	return qs
}

// returnQualifying is what booked returns take from their members' figures, in the
// month of the purchase they return (their own for a return without one).
func returnQualifying(rs []domain.Return, originals map[domain.PurchaseKey]domain.Purchase, currency string) []domain.Qualifying {
	var qs []domain.Qualifying
	for _, r := range rs {
		if r.MemberID == "" {
			continue
		}
		month := r.OccurredAt
		if o, ok := originals[r.Original()]; ok {
			month = o.OccurredAt
		}
		q := domain.Qualifying{MemberID: r.MemberID, Month: domain.MonthOf(month), Points: -r.Points}
		if r.Currency == currency {
			q.SpendMinor = -r.TotalMinor
		}
		qs = append(qs, q)
	}
	return qs
}

// qualifyAndUpgrade adds changes to members' qualifying figures and raises at once the
// members whose figures now reach a higher tier (reason upgrade, with an event), in the
// caller's transaction: the tier step of a purchase batch and of a claimed purchase
// (only purchases qualify). It never lowers a tier: that is the evaluation's.
func (b *base) qualifyAndUpgrade(ctx context.Context, tx Tx, qs []domain.Qualifying) error {
	qs = domain.SumQualifying(qs)
	if len(qs) == 0 {
		return nil
	}
	p, err := tx.AddQualifying(ctx, qs)
	if err != nil || !p.Defined() {
		return err
	}
	var ids []string
	for _, q := range qs {
		if q.Points > 0 || q.SpendMinor > 0 {
			if len(ids) == 0 || ids[len(ids)-1] != q.MemberID { // sorted by member
				ids = append(ids, q.MemberID)
			}
		}
	}
	now := b.clock()
	// Read without locks: most batches change no one's tier, and a lock would write
	// every member's row. A standing that changed meanwhile (the evaluation, staff) is
	// not overwritten; its member rises at their next purchase or evaluation.
	states, err := tx.TierStates(ctx, ids, p.PeriodStart(now))
	if err != nil {
		return err
	}
	var ds []domain.TierDecision
	for _, s := range states {
		if d, ok := p.UpgradeAtOnce(s, now); ok {
			ds = append(ds, d)
		}
	}
	_, err = saveTierDecisions(ctx, tx, ds, now)
	return err
}

// saveTierDecisions stores decisions and emits the tier changes of those stored; it
// returns those events.
func saveTierDecisions(ctx context.Context, tx Tx, ds []domain.TierDecision, now time.Time) ([]domain.Event, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	stored, err := tx.SaveTierDecisions(ctx, ds)
	if err != nil {
		return nil, err
	}
	var events []domain.Event
	for _, d := range ds {
		if d.Changed() && stored[d.MemberID] {
			events = append(events, d.Event(now))
		}
	}
	return events, tx.Emit(ctx, events...)
}

// lowerQualifying takes returns' changes from members' figures. Tiers do not fall here:
// the evaluation decides that, after the grace period.
func (b *base) lowerQualifying(ctx context.Context, tx Tx, qs []domain.Qualifying) error {
	qs = domain.SumQualifying(qs)
	if len(qs) == 0 {
		return nil
	}
	_, err := tx.AddQualifying(ctx, qs)
	return err
}

// baseTier is the tier a new member starts in: the lowest defined, else the default.
func baseTier(ctx context.Context, tx Tx) (string, error) {
	p, err := tx.TierProgramme(ctx)
	return p.Base(), err
}

// TierCommands change the tiers and members' standing.
type TierCommands struct {
	DefineTiers   *DefineTiers
	UpdateTier    *UpdateTier
	SetManualTier *SetManualTier
	EvaluateTiers *EvaluateTiers
}

func newTierCommands(b *base) TierCommands {
	return TierCommands{
		DefineTiers: &DefineTiers{b}, UpdateTier: &UpdateTier{b}, SetManualTier: &SetManualTier{b},
		EvaluateTiers: &EvaluateTiers{base: b},
	}
}

// TierQueries read the tiers and members' standing.
type TierQueries struct {
	ListTiers     *ListTiers
	GetTierStatus *GetTierStatus
}
