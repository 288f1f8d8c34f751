// Package earn is the earning engine: rules and campaigns as data, CEL conditions compiled
// once per rule version, and an exact, explainable calculation of what a purchase or a
// custom event earns. It does no I/O: the application loads rule versions, campaigns and
// usage counters, and stores the breakdown this package returns.
//
// Rounding policy (the engine never awards more than a rule says):
//   - every part is floored, never rounded up;
//   - an award per line is floored line by line, and the part is the sum of those floors;
//   - an award per basket is floored once, on the sum of the amounts it applies to;
//   - the base earning (the programme's rate) is floored once on the basket total, as
//     before rules existed;
//   - all arithmetic is exact (rates are fractions, products are taken in 128 bits):
//     no floating point ever touches a point.
package earn

import (
	"fmt"
	"strings"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// ReasonCustomEvent is the reason of credits earned by custom events.
const ReasonCustomEvent = domain.ReasonCustomEvent

// TriggerPurchase is the trigger of rules evaluated on purchases; custom event rules have
// the trigger "custom:<event type>".
const TriggerPurchase = "purchase"

// CustomTrigger is the trigger of rules evaluated on custom events of eventType.
func CustomTrigger(eventType string) string { return "custom:" + eventType }

// AwardKind says how an award is computed.
type AwardKind string

const (
	// AwardPointsPerUnit: Rate points per currency unit of the amount it applies to.
	AwardPointsPerUnit AwardKind = "points_per_unit"
	// AwardMultiplier: the base earning times Rate, of which the base itself is already
	// credited by the "base" part: a multiplier of 2 ("double points") adds 1× the base
	// rate on the amount it applies to.
	AwardMultiplier AwardKind = "multiplier"
	// AwardFixedBonus: Points, once per basket, or per line once per unit (quantity).
	AwardFixedBonus AwardKind = "fixed_bonus"
)

// Scope says where rounding happens.
type Scope string

const (
	// PerLine: the award is computed and floored for each line it applies to.
	PerLine Scope = "line"
	// PerBasket: the award is computed once on the sum of the amounts it applies to.
	PerBasket Scope = "basket"
)

// Target says which amounts an award applies to.
type Target string

const (
	// TargetMatchingLines: the lines the rule's line filter matches (all lines when it
	// has none).
	TargetMatchingLines Target = "matching_lines"
	// TargetBasket: the whole basket, once the rule applies.
	TargetBasket Target = "basket"
)

// Stacking says how a rule combines with the others that match the same purchase.
type Stacking string

const (
	// Additive rules all apply.
	Additive Stacking = "additive"
	// BestOf: of the rules of one Group that apply, only the one awarding most does.
	BestOf Stacking = "best_of"
	// Exclusive: when an exclusive rule applies, only the one of highest priority does,
	// and no other rule; the base earning stays.
	Exclusive Stacking = "exclusive"
)

// Limit is how often a custom event rule may award a member.
type Limit string

const (
	LimitNone  Limit = ""
	LimitOnce  Limit = "once"
	LimitDay   Limit = "day"
	LimitMonth Limit = "month"
	LimitYear  Limit = "year"
)

// Award is what a rule gives when it applies.
type Award struct {
	Kind AwardKind
	// Rate is the points per currency unit (AwardPointsPerUnit) or the multiplier of the
	// base (AwardMultiplier, at least 1).
	Rate domain.Rate
	// Points is the fixed bonus (AwardFixedBonus).
	Points int64
	Per    Scope
	On     Target
}

// Caps bound what one rule awards one member; 0 is no cap.
type Caps struct {
	PerPurchase int64
	PerDay      int64 // calendar day in the programme's time zone
	PerMonth    int64 // calendar month in the programme's time zone
	PerCampaign int64 // over the life of the rule (of its campaign)
}

// RuleVersion is one immutable version of a rule: every update is a new version.
type RuleVersion struct {
	RuleID     string
	Version    int
	Name       string
	CampaignID string // "" when the rule belongs to no campaign
	Trigger    string // TriggerPurchase or CustomTrigger(type)
	// Condition is a CEL expression of type bool over purchase and member (or event and
	// member for a custom trigger); "" always holds.
	Condition string
	// LineFilter is a CEL expression of type bool over line, purchase and member saying
	// which lines match; "" matches every line. When it is set, the rule applies only to
	// a purchase with at least one matching line.
	LineFilter string
	Award      Award
	Priority   int // higher first
	Stacking   Stacking
	Group      string // the best_of group
	// ValidFrom and ValidUntil bound when a purchase must happen to earn (zero: open).
	ValidFrom, ValidUntil time.Time
	Caps                  Caps
	// Expiry overrides the programme's expiry policy of what this rule awards ("" keeps
	// the programme's); domain.ExpiryPolicy text.
	Expiry string
	// EventLimit is how often a custom event rule may award a member.
	EventLimit Limit
}

// Custom reports whether the rule is triggered by custom events, and of which type.
func (v RuleVersion) Custom() (eventType string, ok bool) {
	return strings.CutPrefix(v.Trigger, "custom:")
}

// ValidAt reports whether t is inside the version's validity window.
func (v RuleVersion) ValidAt(t time.Time) bool {
	return (v.ValidFrom.IsZero() || !t.Before(v.ValidFrom)) && (v.ValidUntil.IsZero() || t.Before(v.ValidUntil))
}

// InvalidError names the field of a rule or campaign that cannot be used, and why.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, format string, args ...any) *InvalidError {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// maxFixedBonus bounds a fixed bonus and a cap, far below overflow when summed per basket.
const maxFixedBonus = 1_000_000_000_000

// Check refuses a rule version that cannot be used, naming the field. Its CEL
// expressions are checked by Engine.Compile.
func (v RuleVersion) Check() error {
	switch {
	case v.RuleID == "":
		return invalid("rule_id", "required")
	case strings.TrimSpace(v.Name) == "" || len(v.Name) > 200:
		return invalid("name", "required, at most 200 characters")
	case v.Trigger != TriggerPurchase && !validCustomTrigger(v.Trigger):
		return invalid("trigger", "%q: want purchase or custom:<event type>", v.Trigger)
	case !v.ValidFrom.IsZero() && !v.ValidUntil.IsZero() && !v.ValidUntil.After(v.ValidFrom):
		return invalid("valid_until", "must be after valid_from")
	}
	switch v.Stacking {
	case Additive, Exclusive:
		if v.Group != "" {
			return invalid("group", "only a best_of rule has a group")
		}
	case BestOf:
		if v.Group == "" {
			return invalid("group", "a best_of rule needs a group")
		}
	default:
		return invalid("stacking", "%q: want additive, best_of or exclusive", v.Stacking)
	}
	for field, c := range map[string]int64{"caps.per_purchase": v.Caps.PerPurchase, "caps.per_day": v.Caps.PerDay,
		"caps.per_month": v.Caps.PerMonth, "caps.per_campaign": v.Caps.PerCampaign} {
		if c < 0 || c > maxFixedBonus {
			return invalid(field, "%d: want 0 (no cap) to %d", c, int64(maxFixedBonus))
		}
	}
	if v.Expiry != "" {
		if _, err := domain.ParseExpiryPolicy(v.Expiry); err != nil {
			return invalid("expiry", "%v", err)
		}
	}
	a := v.Award
	switch a.Per {
	case PerLine, PerBasket:
	default:
		return invalid("award.per", "%q: want line or basket", a.Per)
	}
	switch a.On {
	case TargetMatchingLines, TargetBasket:
	default:
		return invalid("award.on", "%q: want matching_lines or basket", a.On)
	}
	switch a.Kind {
	case AwardPointsPerUnit:
		if a.Rate.IsZero() {
			return invalid("award.rate", "required for points_per_unit")
		}
	case AwardMultiplier:
		num, den := a.Rate.Fraction()
		if a.Rate.IsZero() || num < den {
			return invalid("award.rate", "a multiplier of at least 1 is required (2 is double points)")
		}
	case AwardFixedBonus:
		if a.Points <= 0 || a.Points > maxFixedBonus {
			return invalid("award.points", "%d: want 1 to %d", a.Points, int64(maxFixedBonus))
		}
	default:
		return invalid("award.kind", "%q: want points_per_unit, multiplier or fixed_bonus", a.Kind)
	}
	if _, custom := v.Custom(); custom {
		switch {
		case a.Kind != AwardFixedBonus || a.Per != PerBasket:
			return invalid("award.kind", "a custom event has no amount: want a fixed_bonus per basket")
		case v.LineFilter != "":
			return invalid("line_filter", "a custom event has no lines")
		}
		switch v.EventLimit {
		case LimitNone, LimitOnce, LimitDay, LimitMonth, LimitYear:
		default:
			return invalid("event_limit", "%q: want once, day, month or year", v.EventLimit)
		}
	} else if v.EventLimit != LimitNone {
		return invalid("event_limit", "only a custom event rule has one")
	}
	return nil
}

func validCustomTrigger(t string) bool {
	typ, ok := strings.CutPrefix(t, "custom:")
	if !ok || typ == "" || len(typ) > 64 {
		return false
	}
	for _, c := range typ {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Campaign groups rules under a window, target stores and channels, and a points budget
// that is never overspent.
type Campaign struct {
	ID   string
	Name string
	// From and Until bound when a purchase must happen (zero: open).
	From, Until time.Time
	// Stores and Channels restrict where (empty: everywhere).
	Stores, Channels []string
	Active           bool
	// Budget is the points it may award in all (0: unlimited); Spent what it has.
	Budget, Spent int64
	// ExhaustedAt is when the budget ran out (zero while it has not).
	ExhaustedAt, UpdatedAt time.Time
}

// Check refuses a campaign that cannot be used, naming the field.
func (c Campaign) Check() error {
	switch {
	case c.ID == "":
		return invalid("campaign_id", "required")
	case strings.TrimSpace(c.Name) == "" || len(c.Name) > 200:
		return invalid("name", "required, at most 200 characters")
	case !c.From.IsZero() && !c.Until.IsZero() && !c.Until.After(c.From):
		return invalid("until", "must be after from")
	case c.Budget < 0:
		return invalid("budget_points", "must not be negative (0 is unlimited)")
	case c.Spent < 0:
		return invalid("spent_points", "must not be negative")
	}
	for _, ch := range c.Channels {
		if ch != "store" && ch != "web" {
			return invalid("channels", "%q: want store or web", ch)
		}
	}
	return nil
}

// Remaining is what the campaign may still award; -1 when its budget is unlimited.
func (c Campaign) Remaining() int64 {
	if c.Budget == 0 {
		return -1
	}
	return max(c.Budget-c.Spent, 0)
}

// Targets reports whether a purchase at store through channel at t is the campaign's.
func (c Campaign) Targets(store, channel string, t time.Time) bool {
	if !c.Active || !c.From.IsZero() && t.Before(c.From) || !c.Until.IsZero() && !t.Before(c.Until) {
		return false
	}
	return (len(c.Stores) == 0 || contains(c.Stores, store)) && (len(c.Channels) == 0 || contains(c.Channels, channel))
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
