package earn

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// Profile is what rules may know of a member.
type Profile struct {
	MemberID   string
	Tier       string
	Tags       []string
	Attributes map[string]string
}

// UsageKey names a counter of what one rule awarded one member in one period: "d:<date>"
// (a day), "m:<yyyy-mm>" (a month), "all" (the rule's life), and for custom event limits
// the number of awards "e:once", "e:d:<date>", "e:m:<yyyy-mm>", "e:y:<yyyy>".
type UsageKey struct {
	MemberID, RuleID, Period string
}

// Usage holds counters by key; a missing key is 0.
type Usage map[UsageKey]int64

// CapKind names the bound that reduced a part.
type CapKind string

const (
	CapNone        CapKind = ""
	CapPerPurchase CapKind = "per_purchase"
	CapPerDay      CapKind = "per_day"
	CapPerMonth    CapKind = "per_month"
	CapPerCampaign CapKind = "per_campaign"
	CapBudget      CapKind = "budget"
	CapEventLimit  CapKind = "event_limit"
)

// BaseRuleID is the rule id of the base part: the programme's rate on the basket total.
const BaseRuleID = "base"

// Part is what one rule version (or the base rate) contributed to a credit.
type Part struct {
	RuleID     string // BaseRuleID for the base earning
	Version    int
	Name       string
	CampaignID string
	// MatchedLines are the indexes of the lines the rule's line filter matched (every
	// line when it has none).
	MatchedLines []int
	// LinePoints is, per line of the purchase, the share of Points it earned: exact per
	// line awards, and basket awards spread in proportion to the lines' amounts (the
	// shares add up to Points). Returns take back the shares of the lines returned.
	LinePoints []int64
	// Uncapped is what the rule said; Points what it awards once Cap applied.
	Uncapped, Points int64
	Cap              CapKind
	// Expiry is when the part's points expire: the rule's override, else the
	// programme's default (ExpiryOverridden tells which).
	Expiry           domain.ExpiryPolicy
	ExpiryOverridden bool
}

// Explanation is a credit's calculation: its total and its parts, the base first, then
// the rules in evaluation order.
type Explanation struct {
	Total int64
	Parts []Part
}

// PurchaseInput is what evaluating a purchase needs.
type PurchaseInput struct {
	Purchase domain.Purchase
	Member   Profile
	// Usage has the member's counters for the rules' caps (see UsageKeys).
	Usage Usage
	// Campaigns by id: a rule of a campaign missing here, inactive, out of its window or
	// targets, or with no budget left, does not apply.
	Campaigns map[string]Campaign
}

// dayKey and friends name the periods of usage counters in the programme's time zone.
func (e *Engine) periods(at time.Time) (day, month, year string) {
	t := at.In(e.cfg.Location)
	return t.Format("2006-01-02"), t.Format("2006-01"), t.Format("2006")
}

// UsageKeys are the counters evaluating rules for a member at a time reads: the caps'
// days, months and lives, and custom event limits. The application loads them (one
// query per batch) into PurchaseInput.Usage.
func (e *Engine) UsageKeys(s *RuleSet, memberID string, at time.Time) []UsageKey {
	day, month, year := e.periods(at)
	var keys []UsageKey
	for _, r := range s.rules {
		c := r.Caps
		if c.PerDay > 0 {
			keys = append(keys, UsageKey{memberID, r.RuleID, "d:" + day})
		}
		if c.PerMonth > 0 {
			keys = append(keys, UsageKey{memberID, r.RuleID, "m:" + month})
		}
		if c.PerCampaign > 0 {
			keys = append(keys, UsageKey{memberID, r.RuleID, "all"})
		}
		switch r.EventLimit {
		case LimitOnce:
			keys = append(keys, UsageKey{memberID, r.RuleID, "e:once"})
		case LimitDay:
			keys = append(keys, UsageKey{memberID, r.RuleID, "e:d:" + day})
		case LimitMonth:
			keys = append(keys, UsageKey{memberID, r.RuleID, "e:m:" + month})
		case LimitYear:
			keys = append(keys, UsageKey{memberID, r.RuleID, "e:y:" + year})
		}
	}
	return keys
}

// Record adds what x awarded a member at a time to the usage counters the rules of s
// read (their caps' periods, their custom event limits) and returns the increments, for
// the application to store. Only counters a rule reads are kept: a cap added in a later
// version counts from then on. Call it after each evaluation of a batch so that the next
// purchase of the same member sees it.
func (e *Engine) Record(u Usage, s *RuleSet, memberID string, at time.Time, x Explanation) Usage {
	if !s.counted() {
		return nil
	}
	day, month, year := e.periods(at)
	var inc Usage // nil while nothing counts: most purchases meet no cap nor limit
	for _, p := range x.Parts {
		r := s.rule(p.RuleID)
		if r == nil || p.Points <= 0 {
			continue
		}
		k := UsageKey{MemberID: memberID, RuleID: p.RuleID}
		add := func(period string, n int64) {
			if inc == nil {
				inc = Usage{}
			}
			k.Period = period
			inc[k] += n
		}
		if r.Caps.PerDay > 0 {
			add("d:"+day, p.Points)
		}
		if r.Caps.PerMonth > 0 {
			add("m:"+month, p.Points)
		}
		if r.Caps.PerCampaign > 0 {
			add("all", p.Points)
		}
		switch r.EventLimit {
		case LimitOnce:
			add("e:once", 1)
		case LimitDay:
			add("e:d:"+day, 1)
		case LimitMonth:
			add("e:m:"+month, 1)
		case LimitYear:
			add("e:y:"+year, 1)
		}
	}
	for k, n := range inc {
		u[k] += n
	}
	return inc
}

// Spent is what x took from each campaign's budget.
// The map is nil when x spent nothing, as most credits do.
func (x Explanation) Spent() map[string]int64 {
	var out map[string]int64
	for _, p := range x.Parts {
		if p.CampaignID != "" && p.Points > 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[p.CampaignID] += p.Points
		}
	}
	return out
}

// weekday names a weekday as CEL sees it (purchase.weekday): monday ... sunday.
func weekday(t time.Time) string { return strings.ToLower(t.Weekday().String()) }

func (e *Engine) purchaseFacts(p domain.Purchase, digits int) *PurchaseFacts {
	at := p.OccurredAt.In(e.cfg.Location)
	unit := math.Pow10(digits)
	f := &PurchaseFacts{
		Lines: make([]LineFacts, len(p.Lines)), Store: p.Key.StoreID, Channel: p.Channel,
		Total: float64(p.TotalMinor) / unit, TotalMinor: p.TotalMinor, Currency: p.Currency,
		At: p.OccurredAt, Weekday: weekday(at), Hour: int64(at.Hour()),
	}
	for i, l := range p.Lines {
		f.Lines[i] = LineFacts{SKU: l.SKU, Category: l.Category, Brand: l.Brand, Quantity: int64(l.Quantity),
			Amount: float64(l.AmountMinor) / unit, AmountMinor: l.AmountMinor}
	}
	return f
}

// noTags and noAttributes stand for missing ones; CEL only reads them.
var (
	noTags       = []string{}
	noAttributes = map[string]string{}
)

func memberFacts(m Profile) *MemberFacts {
	f := &MemberFacts{Tier: m.Tier, Tags: m.Tags, Attributes: m.Attributes}
	if f.Tags == nil {
		f.Tags = noTags
	}
	if f.Attributes == nil {
		f.Attributes = noAttributes
	}
	return f
}

// candidate is a rule that applies, before stacking and budgets.
type candidate struct {
	rule *Rule
	part Part
}

// EvaluatePurchase computes what a purchase earns: the base earning, and each rule of s
// that applies to it, after stacking, caps and campaign budgets. It changes nothing;
// Record and Spent say what to store. Expressions that fail to evaluate count as not
// matching and are returned as warnings.
func (e *Engine) EvaluatePurchase(s *RuleSet, in PurchaseInput) (Explanation, []error, error) {
	p := in.Purchase
	baseRate, digits, err := e.cfg.POS.Tender(p.Currency)
	if err != nil {
		return Explanation{}, nil, err
	}
	base, err := e.cfg.POS.Points(p.Currency, p.TotalMinor)
	if err != nil {
		return Explanation{}, nil, err
	}
	n := len(p.Lines)
	amounts := make([]int64, n)
	all := make([]int, n)
	for i, l := range p.Lines {
		amounts[i], all[i] = l.AmountMinor, i
	}
	x := Explanation{Total: base, Parts: []Part{{
		RuleID: BaseRuleID, Name: "base rate " + baseRate.String() + " per " + p.Currency,
		MatchedLines: all, LinePoints: allocate(base, amounts), Uncapped: base, Points: base,
		Expiry: e.cfg.DefaultExpiry,
	}}}
	if s.Len() == 0 {
		return x, nil, nil
	}
	act := &activation{purchase: e.purchaseFacts(p, digits), member: memberFacts(in.Member)}
	baseF := fracOf(baseRate)
	var day, month string
	if s.counted() {
		day, month, _ = e.periods(p.OccurredAt)
	}
	var warnings []error
	cands := make([]candidate, 0, 16) // room for the few rules that usually apply
	for _, r := range s.rules {
		if r.Trigger != TriggerPurchase || !r.ValidAt(p.OccurredAt) {
			continue
		}
		if r.CampaignID != "" {
			c, ok := in.Campaigns[r.CampaignID]
			if !ok || !c.Targets(p.Key.StoreID, p.Channel, p.OccurredAt) || c.Remaining() == 0 {
				continue
			}
		}
		ok, err := holds(r.cond, r.guards, act)
		if err != nil {
			warnings = append(warnings, fmt.Errorf("rule %s version %d: condition: %w", r.RuleID, r.Version, err))
		}
		if !ok {
			continue
		}
		matched := all
		if r.line != nil {
			matched = make([]int, 0, n)
			for i := range act.purchase.Lines {
				act.line = &act.purchase.Lines[i]
				ok, err := holds(r.line, nil, act)
				if err != nil {
					warnings = append(warnings, fmt.Errorf("rule %s version %d: line filter on line %d: %w", r.RuleID, r.Version, i, err))
				}
				if ok {
					matched = append(matched, i)
				}
			}
			act.line = nil
			if len(matched) == 0 {
				continue
			}
		}
		part, err := e.award(r, p, amounts, matched, all, baseF, digits)
		if err != nil {
			return Explanation{}, warnings, fmt.Errorf("rule %s version %d: %w", r.RuleID, r.Version, err)
		}
		memberCaps(&part, r.Caps, in.Usage, UsageKey{in.Member.MemberID, r.RuleID, ""}, day, month)
		cands = append(cands, candidate{r, part})
	}
	stacked := stack(cands)
	x.Parts = append(make([]Part, 0, 1+len(stacked)), x.Parts[0])
	for _, c := range stacked {
		x.Parts = append(x.Parts, c.part)
	}
	x.Total = spendBudgets(x.Parts, in.Campaigns)
	return x, warnings, nil
}

// award computes a rule's part before caps.
func (e *Engine) award(r *Rule, p domain.Purchase, amounts []int64, matched, all []int, baseF frac, digits int) (Part, error) {
	part := Part{RuleID: r.RuleID, Version: r.Version, Name: r.Name, CampaignID: r.CampaignID,
		MatchedLines: matched, LinePoints: make([]int64, len(amounts)), Expiry: r.expiry, ExpiryOverridden: r.overridden}
	applied := matched
	if r.Award.On == TargetBasket {
		applied = all
	}
	var f frac
	switch r.Award.Kind {
	case AwardPointsPerUnit:
		f = fracOf(r.Award.Rate)
	case AwardMultiplier:
		var ok bool
		if f, ok = baseF.mul(fracOf(r.Award.Rate).minusOne()); !ok {
			return Part{}, domain.ErrPointsOverflow
		}
	}
	lineAward := func(i int) (int64, error) {
		if r.Award.Kind == AwardFixedBonus {
			return r.Award.Points * int64(max(p.Lines[i].Quantity, 1)), nil
		}
		return f.points(amounts[i], digits)
	}
	var total int64
	switch {
	case len(amounts) == 0:
		// A receipt without lines: the award is on its total, as one basket.
		if r.Award.Kind == AwardFixedBonus {
			total = r.Award.Points
		} else {
			var err error
			if total, err = f.points(p.TotalMinor, digits); err != nil {
				return Part{}, err
			}
		}
	case r.Award.Per == PerLine:
		for _, i := range applied {
			pts, err := lineAward(i)
			if err != nil {
				return Part{}, err
			}
			if pts > math.MaxInt64-total {
				return Part{}, domain.ErrPointsOverflow
			}
			part.LinePoints[i] = pts
			total += pts
		}
	default:
		var sum int64
		weights := make([]int64, len(applied))
		for k, i := range applied {
			sum += amounts[i]
			weights[k] = amounts[i]
		}
		if r.Award.Kind == AwardFixedBonus {
			total = r.Award.Points
		} else {
			var err error
			if total, err = f.points(sum, digits); err != nil {
				return Part{}, err
			}
		}
		for k, share := range allocate(total, weights) {
			part.LinePoints[applied[k]] = share
		}
	}
	part.Uncapped, part.Points = total, total
	return part, nil
}

// memberCaps bounds a part by the rule's caps for the member: the tightest that binds is
// named.
func memberCaps(part *Part, c Caps, u Usage, k UsageKey, day, month string) {
	if c == (Caps{}) {
		return
	}
	bound := func(limit int64, kind CapKind, prefix, period string) {
		if limit <= 0 {
			return
		}
		left := limit
		if prefix != "" {
			k.Period = prefix + period // only for a cap that is set: most rules have none
			left = max(limit-u[k], 0)
		}
		if left < part.Points {
			part.Points, part.Cap = left, kind
		}
	}
	bound(c.PerPurchase, CapPerPurchase, "", "")
	bound(c.PerDay, CapPerDay, "d:", day)
	bound(c.PerMonth, CapPerMonth, "m:", month)
	bound(c.PerCampaign, CapPerCampaign, "all", "")
	part.LinePoints = scale(part.LinePoints, part.Points)
}

// stack applies the stacking policies to candidates (in evaluation order): the first
// exclusive rule that awards anything shuts out every other rule; otherwise additive
// rules all stay and each best_of group keeps the one awarding most (the earlier on a
// tie).
func stack(cands []candidate) []candidate {
	for _, c := range cands {
		if c.rule.Stacking == Exclusive && c.part.Points > 0 {
			return []candidate{c}
		}
	}
	var best map[string]int // made for the first best_of rule: most programmes have none
	for i, c := range cands {
		if c.rule.Stacking != BestOf {
			continue
		}
		if best == nil {
			best = map[string]int{}
		}
		if j, ok := best[c.rule.Group]; !ok || c.part.Points > cands[j].part.Points {
			best[c.rule.Group] = i
		}
	}
	out := cands[:0] // in place: each candidate is read before its slot is written
	for i, c := range cands {
		switch c.rule.Stacking {
		case Exclusive:
			continue // awards nothing, or it would have won above
		case BestOf:
			if best[c.rule.Group] != i {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// spendBudgets bounds parts by what their campaigns have left, in evaluation order, and
// returns the total.
func spendBudgets(parts []Part, campaigns map[string]Campaign) int64 {
	var left map[string]int64 // made for the first part of a campaign
	var total int64
	for i := range parts {
		p := &parts[i]
		if p.CampaignID != "" {
			if left == nil {
				left = map[string]int64{}
			}
			rem, seen := left[p.CampaignID]
			if !seen {
				rem = campaigns[p.CampaignID].Remaining()
			}
			if rem >= 0 && p.Points > rem {
				p.Points, p.Cap = rem, CapBudget
				p.LinePoints = scale(p.LinePoints, p.Points)
			}
			if rem >= 0 {
				left[p.CampaignID] = rem - p.Points
			}
		}
		total += p.Points
	}
	return total
}

// EventInput is what evaluating a custom event needs.
type EventInput struct {
	Type, Source string
	Attributes   map[string]string
	At           time.Time
	Member       Profile
	Usage        Usage
	Campaigns    map[string]Campaign
}

// EvaluateEvent computes what a custom event earns: each rule triggered by its type
// that applies, after its limit, stacking, caps and budgets. There is no base part.
func (e *Engine) EvaluateEvent(s *RuleSet, in EventInput) (Explanation, []error) {
	act := &activation{member: memberFacts(in.Member),
		event: &EventFacts{Type: in.Type, Source: in.Source, Attributes: in.Attributes, At: in.At}}
	if act.event.Attributes == nil {
		act.event.Attributes = noAttributes
	}
	trigger := CustomTrigger(in.Type)
	day, month, year := e.periods(in.At)
	var (
		warnings []error
		cands    []candidate
	)
	for _, r := range s.list() {
		if r.Trigger != trigger || !r.ValidAt(in.At) {
			continue
		}
		if r.CampaignID != "" {
			c, ok := in.Campaigns[r.CampaignID]
			if !ok || !c.Targets(in.Source, "", in.At) || c.Remaining() == 0 {
				continue
			}
		}
		ok, err := holds(r.cond, r.guards, act)
		if err != nil {
			warnings = append(warnings, fmt.Errorf("rule %s version %d: condition: %w", r.RuleID, r.Version, err))
		}
		if !ok {
			continue
		}
		part := Part{RuleID: r.RuleID, Version: r.Version, Name: r.Name, CampaignID: r.CampaignID,
			Uncapped: r.Award.Points, Points: r.Award.Points, Expiry: r.expiry, ExpiryOverridden: r.overridden}
		k := UsageKey{in.Member.MemberID, r.RuleID, ""}
		switch r.EventLimit {
		case LimitOnce:
			k.Period = "e:once"
		case LimitDay:
			k.Period = "e:d:" + day
		case LimitMonth:
			k.Period = "e:m:" + month
		case LimitYear:
			k.Period = "e:y:" + year
		}
		if k.Period != "" && in.Usage[k] > 0 {
			part.Points, part.Cap = 0, CapEventLimit
		}
		if part.Points > 0 {
			memberCaps(&part, r.Caps, in.Usage, UsageKey{in.Member.MemberID, r.RuleID, ""}, day, month)
		}
		cands = append(cands, candidate{r, part})
	}
	var x Explanation
	for _, c := range stack(cands) {
		x.Parts = append(x.Parts, c.part)
	}
	x.Total = spendBudgets(x.Parts, in.Campaigns)
	return x, warnings
}

// rule returns the set's rule with id, nil when it has none.
func (s *RuleSet) rule(id string) *Rule {
	if s == nil {
		return nil
	}
	return s.byID[id]
}

// counted reports whether a rule of the set has a cap or limit counted per period: only
// then do evaluations need the periods' names.
func (s *RuleSet) counted() bool { return s != nil && s.periodic }

// list returns the rules of a possibly nil set.
func (s *RuleSet) list() []*Rule {
	if s == nil {
		return nil
	}
	return s.rules
}

// ExpiryPoints is how many of a credit's points expire by one policy.
type ExpiryPoints struct {
	Expiry domain.ExpiryPolicy
	Points int64
}

// ByExpiry sums the credit's points by expiry policy, in the order the policies first
// appear among the parts (the base first): one lot per entry.
func (x Explanation) ByExpiry() []ExpiryPoints {
	var out []ExpiryPoints
	for _, p := range x.Parts {
		if p.Points <= 0 {
			continue
		}
		i := 0
		for i < len(out) && out[i].Expiry != p.Expiry {
			i++
		}
		if i == len(out) {
			out = append(out, ExpiryPoints{Expiry: p.Expiry})
		}
		out[i].Points += p.Points
	}
	return out
}
