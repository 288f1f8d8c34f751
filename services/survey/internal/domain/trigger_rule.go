package domain

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
	"cel.dev/cel-go/ext"
)

// SeedTriggerRuleID is the rule a migration seeds: NPS after every contact, at once.
const SeedTriggerRuleID = "0192f0c8-5a1e-7000-8000-0000000000a1"

// MaxTriggerDelay is the longest delay a rule may have.
const MaxTriggerDelay = 90 * 24 * time.Hour

// Errors of trigger rules.
var (
	ErrTriggerRuleNotFound = errors.New("trigger rule not found")
)

func invalidField(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// TriggerRule decides which touchpoints earn an invitation to which survey, when, and
// for which share of members. Rules are data: a change is a new version.
type TriggerRule struct {
	ID      string
	Version int
	Active  bool
	Name    string
	// Touchpoints the rule is for; empty: all.
	Touchpoints []Touchpoint
	// Condition is a CEL boolean over touchpoint and member; "" holds always.
	Condition string
	SurveyID  string
	// Delay after the touchpoint before the invitation is due.
	Delay time.Duration
	// SamplingRate is the share of matching touchpoints invited, in (0, 1].
	SamplingRate float64
	// Channels to try in order.
	Channels []DeliveryChannel
	Priority int
	// ExemptFromFrequencyCap: the rule's invitations pass the frequency cap (a follow-up
	// of a resolved case); the rest of the contact policy applies.
	ExemptFromFrequencyCap bool
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// DefaultChannels are a rule's channels when it names none.
var DefaultChannels = []DeliveryChannel{ChannelEmail, ChannelWebhook}

// Normalize fills the defaults: a rate of 0 is 1, no channels are email then webhook.
func (r TriggerRule) Normalize() TriggerRule {
	if r.SamplingRate == 0 {
		r.SamplingRate = 1
	}
	if len(r.Channels) == 0 {
		r.Channels = slices.Clone(DefaultChannels)
	}
	r.Name = strings.TrimSpace(r.Name)
	return r
}

// Check refuses a rule that cannot be used, naming the field (as the API's request
// spells it). The condition is checked by TriggerEngine.Compile.
func (r TriggerRule) Check() error {
	switch {
	case r.Name == "" || len(r.Name) > 200:
		return invalidField("spec.name", "required, at most 200 characters")
	case r.SurveyID == "":
		return invalidField("spec.survey_id", "required")
	case r.Delay < 0 || r.Delay > MaxTriggerDelay:
		return invalidField("spec.delay", "must be between 0 and 90 days")
	case !(r.SamplingRate > 0 && r.SamplingRate <= 1):
		return invalidField("spec.sampling_rate", "must be in (0, 1]")
	}
	for _, c := range r.Channels {
		switch c {
		case ChannelEmail, ChannelWebhook, ChannelNone:
		default:
			return invalidField("spec.channels", "%q is not a channel a rule may use", c)
		}
	}
	return nil
}

// RequestHash identifies what a creation asked for (settings and activation), so that a
// retry can be told from another request under the same idempotency key.
func (r TriggerRule) RequestHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%q|%v|%q|%q|%d|%v|%v|%d|%v", r.Name, r.Touchpoints, r.Condition, r.SurveyID, r.Delay,
		r.SamplingRate, r.Channels, r.Priority, r.Active)
	if r.ExemptFromFrequencyCap { // rules from before the flag hash as they did
		fmt.Fprint(h, "|exempt_from_frequency_cap")
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// Applies reports whether the rule is for touchpoints of kind tp.
func (r TriggerRule) Applies(tp Touchpoint) bool {
	return len(r.Touchpoints) == 0 || slices.Contains(r.Touchpoints, tp)
}

// TouchpointFacts is a touchpoint as a rule's condition sees it.
type TouchpointFacts struct {
	Kind        string `cel:"kind"`
	Store       string `cel:"store"`
	Channel     string `cel:"channel"`
	AmountMinor int64  `cel:"amount_minor"`
	Currency    string `cel:"currency"`
	Employee    string `cel:"employee"`
}

// MemberFacts is the member as a rule's condition sees it.
type MemberFacts struct {
	Tier string   `cel:"tier"`
	Tags []string `cel:"tags"`
}

// Facts are what a condition is evaluated over.
type Facts struct {
	Touchpoint TouchpointFacts
	Member     MemberFacts
}

// FactsOf are the facts of a trigger for a member.
func FactsOf(t Trigger, tier string, tags []string) Facts {
	if tags == nil {
		tags = []string{}
	}
	return Facts{
		Touchpoint: TouchpointFacts{
			Kind: string(t.Touchpoint), Store: t.StoreID, Channel: t.SalesChannel,
			AmountMinor: t.AmountMinor, Currency: t.Currency, Employee: t.EmployeeID,
		},
		Member: MemberFacts{Tier: tier, Tags: tags},
	}
}

// conditionCostLimit bounds what one condition may cost to evaluate, estimated at
// compile time, so that a condition written by mistake cannot stall a batch.
const (
	conditionCostLimit = 100_000
	conditionMaxSize   = 100 // tags of a member (the ledger's maximum)
	maxConditionLen    = 2000
)

type conditionSizes struct{}

func (conditionSizes) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: conditionMaxSize}
}

func (conditionSizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// CompiledRule is a rule version with its condition compiled.
type CompiledRule struct {
	TriggerRule
	cond cel.Program // nil: always holds
}

// Holds evaluates the condition; an evaluation error (a missing tag index, say) is an
// error, which the caller treats as not holding.
func (c *CompiledRule) Holds(f Facts) (bool, error) {
	if c.cond == nil {
		return true, nil
	}
	out, _, err := c.cond.Eval(map[string]any{"touchpoint": f.Touchpoint, "member": f.Member})
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	return ok && b, nil
}

// TriggerEngine compiles rule versions once each. It is safe for concurrent use.
type TriggerEngine struct {
	env   *cel.Env
	mu    sync.Mutex
	cache map[ruleVersionKey]*CompiledRule
}

type ruleVersionKey struct {
	id      string
	version int
}

// NewTriggerEngine returns an engine with the touchpoint and member variables declared.
func NewTriggerEngine() (*TriggerEngine, error) {
	env, err := cel.NewEnv(
		ext.NativeTypes(ext.ParseStructTags(true), reflect.TypeFor[TouchpointFacts](), reflect.TypeFor[MemberFacts]()),
		ext.Strings(),
		cel.Variable("touchpoint", cel.ObjectType("domain.TouchpointFacts")),
		cel.Variable("member", cel.ObjectType("domain.MemberFacts")),
	)
	if err != nil {
		return nil, err
	}
	return &TriggerEngine{env: env, cache: map[ruleVersionKey]*CompiledRule{}}, nil
}

// Compile checks a rule and compiles its condition (found in the cache when that version
// was compiled before). Errors are *FieldError; a condition's names its line and column.
func (e *TriggerEngine) Compile(r TriggerRule) (*CompiledRule, error) {
	key := ruleVersionKey{r.ID, r.Version}
	if r.ID != "" {
		e.mu.Lock()
		c, ok := e.cache[key]
		e.mu.Unlock()
		if ok {
			c2 := *c
			c2.TriggerRule.Active = r.Active // activation is not a new version
			return &c2, nil
		}
	}
	if err := r.Check(); err != nil {
		return nil, err
	}
	prg, err := e.condition(r.Condition)
	if err != nil {
		return nil, err
	}
	c := &CompiledRule{TriggerRule: r, cond: prg}
	if r.ID != "" {
		e.mu.Lock()
		e.cache[key] = c
		e.mu.Unlock()
	}
	return c, nil
}

func (e *TriggerEngine) condition(expr string) (cel.Program, error) {
	const field = "spec.condition"
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	if len(expr) > maxConditionLen {
		return nil, invalidField(field, "at most %d characters", maxConditionLen)
	}
	ast, iss := e.env.Compile(expr)
	if iss.Err() != nil {
		first := iss.Errors()[0]
		return nil, invalidField(field, "line %d, column %d: %s", first.Location.Line(), first.Location.Column()+1, first.Message)
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, invalidField(field, "line 1, column 1: the expression is of type %s, want bool", ast.OutputType())
	}
	if est, err := e.env.EstimateCost(ast, conditionSizes{}); err != nil || est.Max > conditionCostLimit {
		return nil, invalidField(field, "the expression may cost too much to evaluate: avoid nesting comprehensions")
	}
	prg, err := e.env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, invalidField(field, "%v", err)
	}
	return prg, nil
}

// RuleSet is the active rules of one moment, in the order they are tried: highest
// priority first, then the oldest, then by id.
type RuleSet struct {
	Epoch int64
	rules []*CompiledRule
}

// NewRuleSet orders the active rules among rules.
func NewRuleSet(epoch int64, rules []*CompiledRule) *RuleSet {
	s := &RuleSet{Epoch: epoch}
	for _, r := range rules {
		if r.Active {
			s.rules = append(s.rules, r)
		}
	}
	slices.SortFunc(s.rules, func(a, b *CompiledRule) int {
		if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
			return c
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return s
}

// Len is the number of active rules.
func (s *RuleSet) Len() int { return len(s.rules) }

// Choose returns the rule that decides about a touchpoint: the first active rule (in
// the set's order) for its kind whose condition holds; nil when none does. A condition
// that fails to evaluate does not hold.
func (s *RuleSet) Choose(f Facts) *CompiledRule {
	for _, r := range s.rules {
		if !r.Applies(Touchpoint(f.Touchpoint.Kind)) {
			continue
		}
		if ok, err := r.Holds(f); err == nil && ok {
			return r
		}
	}
	return nil
}

// Sampled reports whether a member is in a rule's sample: a hash of member and rule id
// mapped to [0, 1) is below the rate. The same member and rule always get the same
// answer, so replays and restarts choose the same members.
func Sampled(memberID, ruleID string, rate float64) bool {
	if rate >= 1 || rate == 0 {
		return true
	}
	return SampleValue(memberID, ruleID) < rate
}

// SampleValue is the member's place in [0, 1) for a rule.
func SampleValue(memberID, ruleID string) float64 {
	h := sha256.Sum256([]byte(memberID + "\x00" + ruleID))
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}

// DueAt is when an invitation for a touchpoint at occurred is due: the rule's delay
// after it, and never before now. A touchpoint dated further ahead than a clock can be
// off (MaxTouchpointClockSkew: a wrong year from a till or a producer) counts from now,
// so that its invitation is not put off for ever while it holds the member's contact.
// In whole seconds: a due time still to come is moved up to the next whole second (never
// before the delay has passed), one already passed is now cut to its second (due at once).
func DueAt(occurred time.Time, delay time.Duration, now time.Time) time.Time {
	if occurred.After(now.Add(MaxTouchpointClockSkew)) {
		occurred = now
	}
	due := occurred.Add(delay).UTC()
	if !due.After(now) {
		return now.UTC().Truncate(time.Second)
	}
	if cut := due.Truncate(time.Second); cut.Before(due) {
		due = cut.Add(time.Second)
	}
	return due
}

// MemberProfile is what delivery and trigger rules read of a member, besides locale and
// consent.
type MemberProfile struct {
	Email, Phone, Locale, TimeZone, Tier string
	Tags                                 []string
}
