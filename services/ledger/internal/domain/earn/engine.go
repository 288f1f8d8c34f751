package earn

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// costLimit bounds what one expression may cost in the worst case, estimated when it is
// compiled (with every list, map and string at maxSize), so that a rule written by
// mistake (a comprehension nested in another, say) cannot stall a batch of purchases.
// The bound is checked once, at compile time: tracking cost during evaluation would make
// every evaluation four times as slow.
const (
	costLimit = 100_000
	maxSize   = 1000 // lines of a receipt (the POS contract's maximum)
)

// sizes bounds the sizes the cost estimate cannot know.
type sizes struct{}

func (sizes) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: maxSize}
}

func (sizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// LineFacts is a receipt line as CEL sees it: line.sku, line.category, line.brand,
// line.quantity, line.amount (currency units, for comparisons only) and line.amount_minor.
type LineFacts struct {
	SKU         string  `cel:"sku"`
	Category    string  `cel:"category"`
	Brand       string  `cel:"brand"`
	Quantity    int64   `cel:"quantity"`
	Amount      float64 `cel:"amount"`
	AmountMinor int64   `cel:"amount_minor"`
}

// PurchaseFacts is a purchase as CEL sees it. Weekday (monday ... sunday) and Hour (0-23)
// are in the programme's time zone; Total is in currency units (for comparisons; points
// are always computed from TotalMinor).
type PurchaseFacts struct {
	Lines      []LineFacts `cel:"lines"`
	Store      string      `cel:"store"`
	Channel    string      `cel:"channel"`
	Total      float64     `cel:"total"`
	TotalMinor int64       `cel:"total_minor"`
	Currency   string      `cel:"currency"`
	At         time.Time   `cel:"at"`
	Weekday    string      `cel:"weekday"`
	Hour       int64       `cel:"hour"`
}

// MemberFacts is the member as CEL sees it: member.tier, member.tags, member.attributes.
type MemberFacts struct {
	Tier       string            `cel:"tier"`
	Tags       []string          `cel:"tags"`
	Attributes map[string]string `cel:"attributes"`
}

// EventFacts is a custom event as CEL sees it: event.type, event.attributes, event.at,
// event.source.
type EventFacts struct {
	Type       string            `cel:"type"`
	Source     string            `cel:"source"`
	Attributes map[string]string `cel:"attributes"`
	At         time.Time         `cel:"at"`
}

// Config is what the engine needs from the programme.
type Config struct {
	// POS gives the base rate per currency.
	POS domain.POSRules
	// Location is the programme's time zone: weekdays, hours, days and months of caps.
	Location *time.Location
	// DefaultExpiry is the programme's expiry policy, on every part a rule does not
	// override.
	DefaultExpiry domain.ExpiryPolicy
}

// Engine compiles rule versions once each and evaluates them. It is safe for concurrent
// use.
type Engine struct {
	cfg                         Config
	purchaseEnv, lineEnv, evEnv *cel.Env

	mu    sync.Mutex
	cache map[versionKey]*Rule
}

type versionKey struct {
	id      string
	version int
}

// NewEngine returns an engine for the programme cfg describes.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.POS.IsZero() {
		return nil, fmt.Errorf("earn: POS rules are required")
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	native := ext.NativeTypes(ext.ParseStructTags(true),
		reflect.TypeFor[PurchaseFacts](), reflect.TypeFor[LineFacts](), reflect.TypeFor[MemberFacts](), reflect.TypeFor[EventFacts]())
	typed := func(env *cel.Env) (*cel.Env, error) {
		return cel.CustomTypeProvider(factsProvider{env.CELTypeProvider()})(env)
	}
	types := func(env *cel.Env) (*cel.Env, error) {
		env, err := native(env)
		if err != nil {
			return nil, err
		}
		return typed(env)
	}
	member := cel.Variable("member", cel.ObjectType("earn.MemberFacts"))
	purchase := cel.Variable("purchase", cel.ObjectType("earn.PurchaseFacts"))
	e := &Engine{cfg: cfg, cache: map[versionKey]*Rule{}}
	var err error
	if e.purchaseEnv, err = cel.NewEnv(types, ext.Strings(), purchase, member); err != nil {
		return nil, fmt.Errorf("earn: CEL environment: %w", err)
	}
	if e.lineEnv, err = cel.NewEnv(types, ext.Strings(), purchase, member, cel.Variable("line", cel.ObjectType("earn.LineFacts"))); err != nil {
		return nil, fmt.Errorf("earn: CEL environment: %w", err)
	}
	if e.evEnv, err = cel.NewEnv(types, ext.Strings(), member, cel.Variable("event", cel.ObjectType("earn.EventFacts"))); err != nil {
		return nil, fmt.Errorf("earn: CEL environment: %w", err)
	}
	return e, nil
}

// Location is the programme's time zone.
func (e *Engine) Location() *time.Location { return e.cfg.Location }

// Rule is a compiled rule version.
type Rule struct {
	RuleVersion
	cond, line cel.Program // nil: always holds
	// guards are tests of the condition checked before it is evaluated.
	guards     []guard
	expiry     domain.ExpiryPolicy
	overridden bool
}

// Compile checks a rule version and compiles its expressions, or returns an
// *InvalidError naming the field and, for CEL, the line and column of the first error.
// Compiled versions are cached by (rule id, version): a version is immutable, so it is
// compiled once in the engine's life.
func (e *Engine) Compile(v RuleVersion) (*Rule, error) {
	k := versionKey{v.RuleID, v.Version}
	e.mu.Lock()
	r, ok := e.cache[k]
	e.mu.Unlock()
	if ok {
		return r, nil
	}
	r, err := e.compile(v)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if c, ok := e.cache[k]; ok {
		r = c // compiled concurrently: keep one
	} else {
		e.cache[k] = r
	}
	e.mu.Unlock()
	return r, nil
}

// Check is Compile for a draft: it caches nothing.
func (e *Engine) Check(v RuleVersion) (*Rule, error) { return e.compile(v) }

func (e *Engine) compile(v RuleVersion) (*Rule, error) {
	if err := v.Check(); err != nil {
		return nil, err
	}
	r := &Rule{RuleVersion: v, expiry: e.cfg.DefaultExpiry}
	if v.Expiry != "" {
		r.expiry, _ = domain.ParseExpiryPolicy(v.Expiry) // checked above
		r.overridden = true
	}
	env := e.purchaseEnv
	if _, custom := v.Custom(); custom {
		env = e.evEnv
	}
	var err error
	var checked *cel.Ast
	if r.cond, checked, err = program(env, "condition", v.Condition); err != nil {
		return nil, err
	}
	if checked != nil {
		r.guards = guardsOf(checked)
	}
	if r.line, _, err = program(e.lineEnv, "line_filter", v.LineFilter); err != nil {
		return nil, err
	}
	return r, nil
}

// program compiles a bool expression, and returns it checked; "" is nil (always true).
func program(env *cel.Env, field, expr string) (cel.Program, *cel.Ast, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil, nil
	}
	if len(expr) > 4096 {
		return nil, nil, invalid(field, "at most 4096 characters")
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		errs := iss.Errors()
		first := errs[0]
		return nil, nil, invalid(field, "line %d, column %d: %s", first.Location.Line(), first.Location.Column()+1, first.Message)
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, nil, invalid(field, "line 1, column 1: the expression is of type %s, want bool", ast.OutputType())
	}
	if est, err := env.EstimateCost(ast, sizes{}); err != nil || est.Max > costLimit {
		return nil, nil, invalid(field, "the expression may cost too much to evaluate (estimated %d, at most %d): avoid nesting comprehensions", est.Max, costLimit)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, nil, invalid(field, "%v", err)
	}
	return prg, ast, nil
}

// RuleSet is the compiled rules of one moment, in evaluation order (priority, highest
// first, then rule id).
type RuleSet struct {
	rules []*Rule
	byID  map[string]*Rule
	// periodic: a rule has a cap or a custom event limit, counted per member and period.
	periodic bool
}

// RuleSet compiles (or finds in the cache) rule versions and orders them. A version that
// does not compile is returned among the errors and left out: it was checked when it was
// stored, so this only happens when the engine's environment changed. Drafts (rules
// being tried by SimulatePurchase) are compiled without being cached, and replace a
// stored version of the same rule.
func (e *Engine) RuleSet(versions []RuleVersion, drafts ...RuleVersion) (*RuleSet, []error) {
	s := &RuleSet{rules: make([]*Rule, 0, len(versions)+len(drafts))}
	var errs []error
	drafted := map[string]bool{}
	for _, v := range drafts {
		r, err := e.compile(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("draft rule %s: %w", v.RuleID, err))
			continue
		}
		drafted[v.RuleID] = true
		s.rules = append(s.rules, r)
	}
	for _, v := range versions {
		if drafted[v.RuleID] {
			continue
		}
		r, err := e.Compile(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s version %d: %w", v.RuleID, v.Version, err))
			continue
		}
		s.rules = append(s.rules, r)
	}
	s.byID = make(map[string]*Rule, len(s.rules))
	for _, r := range s.rules {
		s.byID[r.RuleID] = r
		s.periodic = s.periodic || r.Caps.PerDay > 0 || r.Caps.PerMonth > 0 || r.Caps.PerCampaign > 0 || r.EventLimit != LimitNone
	}
	slices.SortStableFunc(s.rules, func(a, b *Rule) int {
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		return strings.Compare(a.RuleID, b.RuleID)
	})
	return s, errs
}

// Rules are the set's rule versions, in evaluation order.
func (s *RuleSet) Rules() []RuleVersion {
	out := make([]RuleVersion, len(s.rules))
	for i, r := range s.rules {
		out[i] = r.RuleVersion
	}
	return out
}

// Len is the number of rules in the set.
func (s *RuleSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rules)
}

// activation binds the variables of one evaluation without a map per call.
type activation struct {
	purchase *PurchaseFacts
	member   *MemberFacts
	line     *LineFacts
	event    *EventFacts
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "purchase":
		return a.purchase, a.purchase != nil
	case "member":
		return a.member, a.member != nil
	case "line":
		return a.line, a.line != nil
	case "event":
		return a.event, a.event != nil
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// holds evaluates a bool program after its guards; an evaluation error (a missing
// attribute, the cost limit) counts as false and is returned so the caller can log it.
func holds(p cel.Program, gs []guard, a *activation) (bool, error) {
	if p == nil {
		return true, nil
	}
	if !pass(gs, a) {
		return false, nil
	}
	out, _, err := p.Eval(a)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	return ok && b, nil
}
