// Package routing evaluates routing rules: CEL conditions over a submitted response,
// compiled once per rule version and cached. Its Engine is the application's
// RuleCompiler.
package routing

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"cel.dev/cel-go/cel"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// costLimit bounds what one condition may cost to evaluate, so that a rule written by
// mistake (a huge comprehension, say) cannot stall the consumer.
const costLimit = 100_000

// fields are the response fields a condition may use, each as response.<field> and as
// the bare <field>.
var fields = []struct {
	name string
	typ  *cel.Type
}{
	{"score", cel.IntType},
	{"nps_class", cel.StringType},
	{"touchpoint", cel.StringType},
	{"store_id", cel.StringType},
	{"comment", cel.StringType},
	{"survey_id", cel.StringType},
	{"score_kind", cel.StringType},
	{"csat_satisfied", cel.BoolType},
	{"ces_low_effort", cel.BoolType},
	{"employee_id", cel.StringType},
	{"channel", cel.StringType},
	// Facts beyond the response (domain.RoutingFacts).
	{"language", cel.StringType},
	{"tier", cel.StringType},
	{"region", cel.StringType},
	{"topics", cel.ListType(cel.StringType)},
}

// Engine compiles conditions and keeps each rule's compiled program for its version.
type Engine struct {
	env *cel.Env
	log *slog.Logger

	mu    sync.Mutex
	cache map[int64]compiled
}

type compiled struct {
	version int
	prg     cel.Program // nil when the condition does not compile
}

// NewEngine returns an engine that logs rejected rules to log.
func NewEngine(log *slog.Logger) (*Engine, error) {
	opts := make([]cel.EnvOption, 0, 2*len(fields))
	for _, f := range fields {
		opts = append(opts, cel.Variable("response."+f.name, f.typ), cel.Variable(f.name, f.typ))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("routing: CEL environment: %w", err)
	}
	return &Engine{env: env, log: log, cache: map[int64]compiled{}}, nil
}

// Check compiles a condition and reports why it cannot be used: a *domain.FieldError
// naming spec.condition, with the line and column of the first problem.
func (e *Engine) Check(condition string) error {
	_, err := e.compile(condition)
	return err
}

func (e *Engine) compile(condition string) (cel.Program, error) {
	const field = "spec.condition"
	if len(condition) > domain.MaxConditionLen {
		return nil, domain.InvalidField(field, "at most %d characters", domain.MaxConditionLen)
	}
	ast, iss := e.env.Compile(condition)
	if iss.Err() != nil {
		first := iss.Errors()[0]
		return nil, domain.InvalidField(field, "line %d, column %d: %s", first.Location.Line(), first.Location.Column()+1, first.Message)
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, domain.InvalidField(field, "line 1, column 1: the expression is of type %s, want bool", ast.OutputType())
	}
	return e.env.Program(ast, cel.CostLimit(costLimit))
}

var _ app.RuleCompiler = (*Engine)(nil)

// Compile is RuleSet as the application's port.
func (e *Engine) Compile(rules []domain.Rule) app.RuleMatcher { return e.RuleSet(rules) }

// RuleSet prepares rules for matching: inactive rules are left out, and a rule whose
// condition does not compile is logged (once per version) and skipped.
func (e *Engine) RuleSet(rules []domain.Rule) *RuleSet {
	e.mu.Lock()
	defer e.mu.Unlock()
	set := &RuleSet{log: e.log}
	for _, r := range rules {
		if !r.Active {
			continue
		}
		c, ok := e.cache[r.ID]
		if !ok || c.version != r.Version {
			prg, err := e.compile(r.Condition)
			if err != nil {
				e.log.Error("routing rule rejected: its condition does not compile",
					"rule_id", r.ID, "rule", r.Name, "version", r.Version, "condition", r.Condition, "err", err)
			}
			c = compiled{version: r.Version, prg: prg}
			e.cache[r.ID] = c
		}
		if c.prg != nil {
			set.entries = append(set.entries, entry{rule: r, prg: c.prg})
		}
	}
	slices.SortStableFunc(set.entries, func(a, b entry) int { return domain.ComparePriority(a.rule, b.rule) })
	return set
}

// RuleSet is the compiled, ordered rules of one moment.
type RuleSet struct {
	entries []entry
	log     *slog.Logger
}

type entry struct {
	rule domain.Rule
	prg  cel.Program
}

// Rules are the usable rules, in the order they are tried.
func (s *RuleSet) Rules() []domain.Rule {
	out := make([]domain.Rule, len(s.entries))
	for i, e := range s.entries {
		out[i] = e.rule
	}
	return out
}

// Match returns the first rule, by order, whose condition holds for r and its facts. A
// condition that fails to evaluate (division by zero, the cost limit) counts as not
// matching.
func (s *RuleSet) Match(r domain.Response, f domain.RoutingFacts) (domain.Rule, bool) {
	vars := activation(r, f)
	for _, e := range s.entries {
		if ok, _ := s.eval(e, r, vars); ok {
			return e.rule, true
		}
	}
	return domain.Rule{}, false
}

// Explain tries the rules in order as Match does and says how each fared, up to and
// including the one that matched.
func (s *RuleSet) Explain(r domain.Response, f domain.RoutingFacts) []domain.RuleTrial {
	vars := activation(r, f)
	var out []domain.RuleTrial
	for _, e := range s.entries {
		ok, err := s.eval(e, r, vars)
		t := domain.RuleTrial{RuleID: e.rule.ID, Name: e.rule.Name, Version: e.rule.Version, Matched: ok}
		if err != nil {
			t.Error = err.Error()
		}
		out = append(out, t)
		if ok {
			break
		}
	}
	return out
}

func (s *RuleSet) eval(e entry, r domain.Response, vars map[string]any) (bool, error) {
	out, _, err := e.prg.Eval(vars)
	if err != nil {
		s.log.Warn("routing rule failed to evaluate; treated as not matching",
			"rule_id", e.rule.ID, "rule", e.rule.Name, "response_id", r.ResponseID, "err", err)
		return false, err
	}
	b, ok := out.Value().(bool)
	return ok && b, nil
}

func activation(r domain.Response, f domain.RoutingFacts) map[string]any {
	topics := f.Topics
	if topics == nil {
		topics = []string{}
	}
	values := map[string]any{
		"score":      int64(r.Score),
		"nps_class":  string(r.NPSClass),
		"touchpoint": r.Touchpoint,
		"store_id":   r.StoreID,
		"comment":    r.Comment,
		"survey_id":  r.SurveyID,
		// Normalised: NPS for a response from before kinds were kept.
		"score_kind":     string(r.ScoreKind),
		"csat_satisfied": r.CSATSatisfied,
		"ces_low_effort": r.CESLowEffort,
		"employee_id":    r.EmployeeID,
		"channel":        r.Channel,
		"language":       f.Language,
		"tier":           f.Tier,
		"region":         f.Region,
		"topics":         topics,
	}
	vars := make(map[string]any, 2*len(values))
	for k, v := range values {
		vars[k] = v
		vars["response."+k] = v
	}
	return vars
}
