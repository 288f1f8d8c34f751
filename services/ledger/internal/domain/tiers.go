package domain

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Tiers: members rise through ranked tiers (Bronze, Silver, Gold) on their qualifying
// figures, the points and the spend of their purchases within a qualifying period. An
// upgrade happens at once, when a purchase batch lifts the figures over a threshold; a
// downgrade only at evaluation, a grace period after the figures first fell short. Staff
// may set a manual tier, a floor the member does not drop below until it expires.
//
// Qualifying figures are kept per member and calendar month (UTC). All periods are in
// whole months:
//
//	rolling, N months   the current month and the N before it: a purchase counts for at
//	                    least N and at most N+1 months
//	calendar year       the months of the current calendar year

// TierBasis is how the qualifying period is measured.
type TierBasis string

// The bases a programme may use.
const (
	BasisRolling      TierBasis = "rolling"
	BasisCalendarYear TierBasis = "calendar_year"
)

// Limits of a tier programme's definition.
const (
	MaxTiers        = 20
	MaxWindowMonths = 36
	MaxTierGrace    = 2 * 365 * 24 * time.Hour
)

// Tier is one level of the programme. A member qualifies for it with MinPoints
// qualifying points or with MinSpendMinor qualifying spend (minor units of the
// programme's currency); a threshold of 0 is not used. The base tier (lowest rank) has
// none: every member is in it at least.
type Tier struct {
	Code          string `json:"code"`
	Name          string `json:"name"`
	Rank          int    `json:"rank"`
	MinPoints     int64  `json:"min_points,omitempty"`
	MinSpendMinor int64  `json:"min_spend_minor,omitempty"`
}

// qualifies reports whether figures reach the tier.
func (t Tier) qualifies(f Figures) bool {
	if t.MinPoints == 0 && t.MinSpendMinor == 0 {
		return true
	}
	return (t.MinPoints > 0 && f.Points >= t.MinPoints) || (t.MinSpendMinor > 0 && f.SpendMinor >= t.MinSpendMinor)
}

// TierProgramme is the programme's tiers, ascending by rank, and how they are earned.
// A programme without tiers leaves every member in DefaultTier.
type TierProgramme struct {
	Basis        TierBasis     `json:"basis"`
	WindowMonths int           `json:"window_months,omitempty"`
	Grace        time.Duration `json:"grace_ns"`
	Currency     string        `json:"currency"`
	Tiers        []Tier        `json:"tiers"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// Defined reports whether the programme has tiers.
func (p TierProgramme) Defined() bool { return len(p.Tiers) > 0 }

// Base is the tier every member starts in: the lowest defined, else DefaultTier.
func (p TierProgramme) Base() string {
	if !p.Defined() {
		return DefaultTier
	}
	return p.Tiers[0].Code
}

// Tier returns the tier with code and its index in Tiers.
func (p TierProgramme) Tier(code string) (Tier, int, bool) {
	for i, t := range p.Tiers {
		if t.Code == code {
			return t, i, true
		}
	}
	return Tier{}, -1, false
}

// TierError is a definition the programme refuses: Field names the field (as the
// request spells it), Reason why.
type TierError struct {
	Field  string
	Reason string
}

func (e *TierError) Error() string { return e.Field + ": " + e.Reason }

// ErrTierNotFound: no tier has the code.
var ErrTierNotFound = errors.New("tier not found")

var tierCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Validate checks a definition: a known basis with its window, a grace within bounds,
// codes and ranks unique, the base tier without thresholds, every other tier with one,
// and each threshold strictly above the same threshold of every lower tier that sets it
// (so no two tiers overlap and a higher tier is never easier to reach). Tiers is sorted
// by rank. The error is a *TierError.
func (p *TierProgramme) Validate() error {
	switch p.Basis {
	case BasisRolling:
		if p.WindowMonths < 1 || p.WindowMonths > MaxWindowMonths {
			return &TierError{"window_months", fmt.Sprintf("a rolling window is 1 to %d months", MaxWindowMonths)}
		}
	case BasisCalendarYear:
		if p.WindowMonths != 0 {
			return &TierError{"window_months", "a calendar year takes no window"}
		}
	default:
		return &TierError{"basis", fmt.Sprintf("unknown basis %q, want rolling or calendar_year", p.Basis)}
	}
	if p.Grace < 0 || p.Grace > MaxTierGrace {
		return &TierError{"grace_period", "must be between 0 and 730 days"}
	}
	if len(p.Tiers) == 0 || len(p.Tiers) > MaxTiers {
		return &TierError{"tiers", fmt.Sprintf("1 to %d tiers", MaxTiers)}
	}
	// Field names keep the request's order; checks run in rank order.
	index := make(map[string]int, len(p.Tiers))
	for i, t := range p.Tiers {
		f := fmt.Sprintf("tiers[%d]", i)
		switch {
		case !tierCode.MatchString(t.Code):
			return &TierError{f + ".code", "1 to 32 lower-case letters, digits or _, starting with a letter"}
		case t.Name == "":
			return &TierError{f + ".name", "required"}
		case t.MinPoints < 0:
			return &TierError{f + ".min_points", "must not be negative"}
		case t.MinSpendMinor < 0:
			return &TierError{f + ".min_spend_minor", "must not be negative"}
		}
		if j, dup := index[t.Code]; dup {
			return &TierError{f + ".code", fmt.Sprintf("%q is also tiers[%d]", t.Code, j)}
		}
		index[t.Code] = i
	}
	order := make([]int, len(p.Tiers))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return p.Tiers[a].Rank - p.Tiers[b].Rank })
	for k, i := range order {
		t, f := p.Tiers[i], fmt.Sprintf("tiers[%d]", i)
		if k == 0 {
			if t.MinPoints != 0 || t.MinSpendMinor != 0 {
				return &TierError{f + ".min_points", "the base tier (lowest rank) takes no threshold: every member starts in it"}
			}
			continue
		}
		prev := p.Tiers[order[k-1]]
		if t.Rank == prev.Rank {
			return &TierError{f + ".rank", fmt.Sprintf("%d is also %s's rank", t.Rank, prev.Code)}
		}
		if t.MinPoints == 0 && t.MinSpendMinor == 0 {
			return &TierError{f + ".min_points", "a tier above the base needs min_points or min_spend_minor"}
		}
		for _, lower := range order[:k] {
			l := p.Tiers[lower]
			if t.MinPoints > 0 && l.MinPoints >= t.MinPoints {
				return &TierError{f + ".min_points", fmt.Sprintf("%d is not above %s's %d, a lower tier", t.MinPoints, l.Code, l.MinPoints)}
			}
			if t.MinSpendMinor > 0 && l.MinSpendMinor >= t.MinSpendMinor {
				return &TierError{f + ".min_spend_minor", fmt.Sprintf("%d is not above %s's %d, a lower tier", t.MinSpendMinor, l.Code, l.MinSpendMinor)}
			}
		}
	}
	sorted := make([]Tier, len(p.Tiers))
	for k, i := range order {
		sorted[k] = p.Tiers[i]
	}
	p.Tiers = sorted
	return nil
}

// monthOf is the first instant of t's calendar month, UTC.
func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// MonthOf is the month (its first instant, UTC) whose qualifying figures an activity at
// t counts in.
func MonthOf(t time.Time) time.Time { return monthOf(t) }

// PeriodStart is the first month of the qualifying period at now.
func (p TierProgramme) PeriodStart(now time.Time) time.Time {
	m := monthOf(now)
	if p.Basis == BasisCalendarYear {
		return time.Date(m.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
	}
	return m.AddDate(0, -p.WindowMonths, 0)
}

// Figures are a member's qualifying points and spend over a period.
type Figures struct {
	Points     int64
	SpendMinor int64
}

// Qualifying is a change of a member's qualifying figures in one month: a purchase
// adds, a return subtracts.
type Qualifying struct {
	MemberID   string
	Month      time.Time
	Points     int64
	SpendMinor int64
}

// SumQualifying adds up changes per member and month, so that a batch writes each row
// once; changes that cancel out are dropped.
func SumQualifying(qs []Qualifying) []Qualifying {
	type key struct {
		member string
		month  time.Time
	}
	sums := map[key]Qualifying{}
	var keys []key
	for _, q := range qs {
		k := key{q.MemberID, monthOf(q.Month)}
		s, seen := sums[k]
		if !seen {
			keys = append(keys, k)
			s = Qualifying{MemberID: k.member, Month: k.month}
		}
		s.Points += q.Points
		s.SpendMinor += q.SpendMinor
		sums[k] = s
	}
	out := make([]Qualifying, 0, len(keys))
	for _, k := range keys {
		if s := sums[k]; s.Points != 0 || s.SpendMinor != 0 {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Qualifying) int {
		if a.MemberID != b.MemberID {
			if a.MemberID < b.MemberID {
				return -1
			}
			return 1
		}
		return a.Month.Compare(b.Month)
	})
	return out
}

// MonthFigures are a member's qualifying figures of one month.
type MonthFigures struct {
	Month time.Time
	Figures
}

// TierState is what the tier decisions need of a member: their tier, the downgrade
// evaluation scheduled (zero when none), their manual floor, and their qualifying
// figures of the current period.
type TierState struct {
	MemberID      string
	Tier          string
	DowngradeDue  time.Time
	ManualTier    string
	ManualUntil   time.Time
	Figures       Figures
	FiguresMonths []MonthFigures // only where a read needs them (safe-until)
}

// TierChangeReason says why a member's tier changed.
type TierChangeReason string

// The reasons of a tier change.
const (
	TierUpgrade       TierChangeReason = "upgrade"
	TierDowngrade     TierChangeReason = "downgrade"
	TierManual        TierChangeReason = "manual"
	TierManualExpired TierChangeReason = "manual_expired"
	// TierRedefined: the member's tier is no longer defined (or they are still in the
	// default tier of a programme without tiers) and the programme placed them anew.
	TierRedefined TierChangeReason = "redefined"
)

// TierDecision is what a decision does to a member: a new tier (To, with Reason) or
// none (To ""), the downgrade evaluation due afterwards and the manual floor kept. Was
// is the standing it was decided on: it is stored only over that standing, so a
// decision taken on rows read without a lock never overwrites a newer one.
type TierDecision struct {
	Was          TierState
	MemberID     string
	From, To     string
	Reason       TierChangeReason
	DowngradeDue time.Time
	ManualTier   string
	ManualUntil  time.Time
}

// Changed reports whether the decision moves the member to another tier.
func (d TierDecision) Changed() bool { return d.To != "" && d.To != d.From }

// Event is the tier change the decision causes, effective at.
func (d TierDecision) Event(at time.Time) MemberTierChanged {
	return MemberTierChanged{MemberID: d.MemberID, From: d.From, To: d.To, Reason: d.Reason, EffectiveAt: at}
}

// qualified is the highest tier the figures reach (index into Tiers).
func (p TierProgramme) qualified(f Figures) int {
	best := 0
	for i, t := range p.Tiers {
		if t.qualifies(f) {
			best = i
		}
	}
	return best
}

// decide is the one rule of both decisions. evaluate is false for a purchase batch,
// which only raises tiers (and forgets a scheduled downgrade the figures now make moot);
// true for the evaluation, which also expires manual floors and downgrades.
func (p TierProgramme) decide(s TierState, now time.Time, evaluate bool) (TierDecision, bool) {
	d := TierDecision{Was: s, MemberID: s.MemberID, From: s.Tier, DowngradeDue: s.DowngradeDue, ManualTier: s.ManualTier, ManualUntil: s.ManualUntil}
	if !p.Defined() {
		return d, false
	}
	if !s.DowngradeDue.IsZero() && now.Before(s.DowngradeDue.Add(-p.Grace)) {
		// A decision taken on a clock older than the one that scheduled the downgrade
		// (replicas, a pass that waited): the newer one stands.
		return d, false
	}
	floorActive := d.ManualTier != "" && now.Before(d.ManualUntil)
	_, floor, _ := p.Tier(d.ManualTier)
	manualExpired := evaluate && d.ManualTier != "" && !floorActive
	if manualExpired {
		d.ManualTier, d.ManualUntil = "", time.Time{}
	}
	target := p.qualified(s.Figures)
	if floorActive && floor > target {
		target = floor
	}
	_, current, defined := p.Tier(s.Tier)
	switch {
	case !defined:
		d.To, d.Reason, d.DowngradeDue = p.Tiers[target].Code, TierRedefined, time.Time{}
	case target > current:
		d.To, d.Reason, d.DowngradeDue = p.Tiers[target].Code, TierUpgrade, time.Time{}
	case target == current:
		d.DowngradeDue = time.Time{}
	case !evaluate:
		// A batch never lowers a tier.
	case manualExpired && current <= floor:
		// The floor held the member up; its end is their downgrade.
		d.To, d.Reason, d.DowngradeDue = p.Tiers[target].Code, TierManualExpired, time.Time{}
	case d.DowngradeDue.IsZero() && p.Grace > 0:
		d.DowngradeDue = now.Add(p.Grace)
	case d.DowngradeDue.IsZero() || !now.Before(d.DowngradeDue):
		d.To, d.Reason, d.DowngradeDue = p.Tiers[target].Code, TierDowngrade, time.Time{}
	}
	changed := d.Changed() || !d.DowngradeDue.Equal(s.DowngradeDue) || d.ManualTier != s.ManualTier || !d.ManualUntil.Equal(s.ManualUntil)
	return d, changed
}

// UpgradeAtOnce is the decision after a purchase batch: the member rises to the highest
// tier their figures (or floor) reach, and a scheduled downgrade the figures now make
// moot is forgotten. It never lowers a tier. ok is false when nothing changes.
func (p TierProgramme) UpgradeAtOnce(s TierState, now time.Time) (TierDecision, bool) {
	return p.decide(s, now, false)
}

// Evaluate is the periodic decision: an expired manual floor is removed (and the member
// placed where their figures are, reason manual_expired); a member whose figures fell
// below their tier is given a downgrade date, now plus the grace period, and downgraded
// when it has come and they still fall short; one who qualifies again keeps the tier
// and the date is forgotten. Upgrades happen here too (thresholds may have been
// lowered). ok is false when nothing changes.
func (p TierProgramme) Evaluate(s TierState, now time.Time) (TierDecision, bool) {
	return p.decide(s, now, true)
}

// ManualTier is the decision of staff setting a floor code until until (code "" removes
// the floor): a member below it rises to it at once (reason manual); one above keeps
// their tier, which cannot fall below the floor while it lasts.
func (p TierProgramme) ManualTier(s TierState, code string, until, now time.Time) (TierDecision, error) {
	if code != "" {
		if _, _, ok := p.Tier(code); !ok {
			return TierDecision{}, &TierError{"tier", fmt.Sprintf("%q is not a defined tier", code)}
		}
		if !until.After(now) {
			return TierDecision{}, &TierError{"expires_at", "must be in the future"}
		}
	} else {
		until = time.Time{}
	}
	was := s
	s.ManualTier, s.ManualUntil = code, until
	d, _ := p.decide(s, now, false)
	d.Was = was
	if d.Changed() {
		d.Reason = TierManual
	}
	return d, nil
}

// TierProgress is how far a member is from the next tier; Next is "" at the top.
// PointsNeeded and SpendNeededMinor are nil where the next tier sets no such threshold.
type TierProgress struct {
	Next             string
	PointsNeeded     *int64
	SpendNeededMinor *int64
}

// TierStatus is a member's standing: their tier, figures, progress and the date the
// tier is safe until (zero: for good, as the base tier is).
type TierStatus struct {
	// Defined is false while the programme defines no tiers.
	Defined      bool
	MemberID     string
	Tier         Tier
	Figures      Figures
	PeriodStart  time.Time
	Currency     string
	Progress     TierProgress
	SafeUntil    time.Time
	ManualTier   string
	ManualUntil  time.Time
	DowngradeDue time.Time
}

// Status is the member's standing at now. s.FiguresMonths must hold the figures of
// the months of the period (older ones are ignored).
func (p TierProgramme) Status(s TierState, now time.Time) TierStatus {
	st := TierStatus{
		MemberID: s.MemberID, Tier: Tier{Code: s.Tier, Name: s.Tier}, Figures: s.Figures,
		PeriodStart: p.PeriodStart(now), Currency: p.Currency, DowngradeDue: s.DowngradeDue, Defined: p.Defined(),
	}
	if s.ManualTier != "" && now.Before(s.ManualUntil) {
		st.ManualTier, st.ManualUntil = s.ManualTier, s.ManualUntil
	}
	t, i, ok := p.Tier(s.Tier)
	if !ok {
		return st
	}
	st.Tier = t
	if i+1 < len(p.Tiers) {
		next := p.Tiers[i+1]
		st.Progress.Next = next.Code
		if next.MinPoints > 0 {
			n := max(0, next.MinPoints-s.Figures.Points)
			st.Progress.PointsNeeded = &n
		}
		if next.MinSpendMinor > 0 {
			n := max(0, next.MinSpendMinor-s.Figures.SpendMinor)
			st.Progress.SpendNeededMinor = &n
		}
	}
	st.SafeUntil = p.safeUntil(s, t, i, now)
	return st
}

// safeUntil is the earliest the member can lose tier t without further activity: a
// scheduled downgrade's date, else the first month start at which the period's figures
// (months dropping out, nothing added) fall below t, plus the grace; never before a
// manual floor at or above t expires. Zero for the base tier.
func (p TierProgramme) safeUntil(s TierState, t Tier, i int, now time.Time) time.Time {
	if i == 0 {
		return time.Time{}
	}
	var safe time.Time
	if !s.DowngradeDue.IsZero() {
		safe = s.DowngradeDue
	} else {
		// Month by month from the next, the figures still in the period then.
		for m := monthOf(now).AddDate(0, 1, 0); ; m = m.AddDate(0, 1, 0) {
			start := p.PeriodStart(m)
			var f Figures
			for _, mf := range s.FiguresMonths {
				if !mf.Month.Before(start) && mf.Month.Before(m.AddDate(0, 1, 0)) {
					f.Points += mf.Points
					f.SpendMinor += mf.SpendMinor
				}
			}
			if !t.qualifies(f) {
				safe = m.Add(p.Grace)
				break
			}
			if m.After(now.AddDate(4, 0, 0)) { // figures only ever drop out: unreachable
				break
			}
		}
	}
	if _, floor, ok := p.Tier(s.ManualTier); ok && floor >= i && now.Before(s.ManualUntil) && s.ManualUntil.After(safe) {
		safe = s.ManualUntil
	}
	return safe
}
