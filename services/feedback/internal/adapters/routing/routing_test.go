package routing_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/adapters/routing"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// seeded mirrors the rules the migration seeds.
var seeded = []domain.Rule{
	{ID: 2, Name: "promoter-referral", Order: 200, Condition: `response.nps_class == "PROMOTER"`, Kind: domain.KindReferralRequest, Team: "marketing", ResolutionSLA: 168 * time.Hour, Active: true, Version: 1},
	{ID: 1, Name: "detractor-callback", Order: 100, Condition: `response.nps_class == "DETRACTOR"`, Kind: domain.KindCallback, Team: "customer-service", ResolutionSLA: 48 * time.Hour, Active: true, Version: 1},
}

func newEngine(t *testing.T) (*routing.Engine, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	e, err := routing.NewEngine(slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return e, &logs
}

func response(score int) domain.Response {
	r := domain.Response{ResponseID: "r", Score: score, Touchpoint: "PURCHASE", StoreID: "s-17", Comment: "the queue was long", SubmittedAt: time.Now()}
	if err := r.Normalize(); err != nil {
		panic(err)
	}
	return r
}

func TestSeededRules(t *testing.T) {
	e, _ := newEngine(t)
	set := e.RuleSet(seeded)
	tests := []struct {
		score    int
		wantRule string
	}{
		{0, "detractor-callback"}, {3, "detractor-callback"}, {6, "detractor-callback"},
		{7, ""}, {8, ""},
		{9, "promoter-referral"}, {10, "promoter-referral"},
	}
	for _, tt := range tests {
		rule, ok := set.Match(response(tt.score), domain.RoutingFacts{})
		if tt.wantRule == "" {
			if ok {
				t.Errorf("score %d matched %s, want no rule", tt.score, rule.Name)
			}
			continue
		}
		if !ok || rule.Name != tt.wantRule {
			t.Errorf("score %d matched %q (%v), want %s", tt.score, rule.Name, ok, tt.wantRule)
		}
	}
}

func TestConditions(t *testing.T) {
	tests := []struct {
		condition string
		want      bool
	}{
		{`response.score <= 6`, true},
		{`score <= 6`, true},
		{`response.score > 6`, false},
		{`response.touchpoint == "PURCHASE" && response.store_id.startsWith("s-")`, true},
		{`response.comment.contains("queue")`, true},
		{`response.survey_id == ""`, true},
		{`response.nps_class in ["PASSIVE", "PROMOTER"]`, false},
	}
	e, _ := newEngine(t)
	for i, tt := range tests {
		set := e.RuleSet([]domain.Rule{{ID: int64(i + 1), Name: "r", Condition: tt.condition, Active: true, Version: 1}})
		if len(set.Rules()) != 1 {
			t.Fatalf("%s: did not compile", tt.condition)
		}
		if _, got := set.Match(response(3), domain.RoutingFacts{}); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.condition, got, tt.want)
		}
	}
}

func TestPriorityFirstMatchWins(t *testing.T) {
	e, _ := newEngine(t)
	rules := append([]domain.Rule{{ID: 9, Name: "vip-store", Order: 50, Condition: `response.store_id == "s-17"`,
		Kind: domain.KindCallback, Team: "store-management", Active: true, Version: 1}}, seeded...)
	rule, ok := e.RuleSet(rules).Match(response(2), domain.RoutingFacts{})
	if !ok || rule.Name != "vip-store" {
		t.Errorf("matched %q, want vip-store", rule.Name)
	}
}

func TestInactiveRuleIsSkipped(t *testing.T) {
	e, _ := newEngine(t)
	rules := []domain.Rule{{ID: 1, Name: "off", Condition: `true`, Active: false, Version: 1}}
	if _, ok := e.RuleSet(rules).Match(response(3), domain.RoutingFacts{}); ok {
		t.Error("an inactive rule matched")
	}
}

func TestNonCompilingRuleIsRejected(t *testing.T) {
	tests := []struct {
		name, condition, wantErr string
	}{
		{"syntax error", `response.score <=`, "Syntax error"},
		{"unknown field", `response.points > 3`, "undeclared reference"},
		{"type mismatch", `response.score == "high"`, "no matching overload"},
		{"not a boolean", `response.score + 1`, "want bool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, logs := newEngine(t)
			if err := e.Check(tt.condition); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Check = %v, want an error containing %q", err, tt.wantErr)
			}
			broken := domain.Rule{ID: 5, Name: "broken", Order: 1, Condition: tt.condition, Kind: domain.KindCallback, Team: "x", Active: true, Version: 1}
			set := e.RuleSet(append([]domain.Rule{broken}, seeded...))
			if len(set.Rules()) != len(seeded) {
				t.Fatalf("usable rules = %d, want %d (the broken one skipped)", len(set.Rules()), len(seeded))
			}
			if rule, ok := set.Match(response(3), domain.RoutingFacts{}); !ok || rule.Name != "detractor-callback" {
				t.Errorf("matched %q, want the next rule, detractor-callback", rule.Name)
			}
			if !strings.Contains(logs.String(), "routing rule rejected") || !strings.Contains(logs.String(), "rule=broken") {
				t.Errorf("rejection not logged: %s", logs.String())
			}
			// Compiled once per version: the rejection is not logged again.
			logs.Reset()
			e.RuleSet([]domain.Rule{broken})
			if logs.Len() != 0 {
				t.Errorf("rejected again for the same version: %s", logs.String())
			}
		})
	}
}

func TestNewVersionIsRecompiled(t *testing.T) {
	e, _ := newEngine(t)
	rule := domain.Rule{ID: 1, Name: "r", Condition: `response.score < 5`, Active: true, Version: 1}
	if _, ok := e.RuleSet([]domain.Rule{rule}).Match(response(6), domain.RoutingFacts{}); ok {
		t.Fatal("version 1 matched score 6")
	}
	rule.Condition, rule.Version = `response.score < 7`, 2
	if _, ok := e.RuleSet([]domain.Rule{rule}).Match(response(6), domain.RoutingFacts{}); !ok {
		t.Error("version 2 was not recompiled")
	}
}

func TestEvaluationErrorDoesNotMatch(t *testing.T) {
	e, logs := newEngine(t)
	rules := []domain.Rule{{ID: 9, Name: "divides", Order: 1, Condition: `10 / (response.score - 3) > 1`, Active: true, Version: 1}, seeded[1]}
	rule, ok := e.RuleSet(rules).Match(response(3), domain.RoutingFacts{})
	if !ok || rule.Name != "detractor-callback" {
		t.Errorf("matched %q, want detractor-callback after the failing rule", rule.Name)
	}
	if !strings.Contains(logs.String(), "failed to evaluate") {
		t.Errorf("evaluation failure not logged: %s", logs.String())
	}
}

// dissatisfied mirrors the rule the score kinds' migration seeds.
var dissatisfied = domain.Rule{ID: 3, Name: "dissatisfied-callback", Order: 110,
	Condition: `(response.score_kind == "CSAT" && response.score <= 2) || (response.score_kind == "CES" && response.score <= 3)`,
	Kind:      domain.KindCallback, Team: "customer-service", ResolutionSLA: 48 * time.Hour, Active: true, Version: 1}

func TestSeededRulesByKind(t *testing.T) {
	e, _ := newEngine(t)
	set := e.RuleSet(append([]domain.Rule{dissatisfied}, seeded...))
	for _, tt := range []struct {
		kind     domain.ScoreKind
		score    int
		wantRule string
	}{
		{domain.ScoreNPS, 2, "detractor-callback"}, {domain.ScoreNPS, 10, "promoter-referral"}, {"", 6, "detractor-callback"},
		{domain.ScoreCSAT, 1, "dissatisfied-callback"}, {domain.ScoreCSAT, 2, "dissatisfied-callback"},
		{domain.ScoreCSAT, 3, ""}, {domain.ScoreCSAT, 5, ""},
		{domain.ScoreCES, 1, "dissatisfied-callback"}, {domain.ScoreCES, 3, "dissatisfied-callback"},
		{domain.ScoreCES, 4, ""}, {domain.ScoreCES, 7, ""},
	} {
		r := domain.Response{ResponseID: "r", ScoreKind: tt.kind, Score: tt.score, SubmittedAt: time.Now()}
		if err := r.Normalize(); err != nil {
			t.Fatal(err)
		}
		rule, ok := set.Match(r, domain.RoutingFacts{})
		if got := map[bool]string{true: rule.Name}[ok]; got != tt.wantRule {
			t.Errorf("%s %d matched %q, want %q", tt.kind, tt.score, got, tt.wantRule)
		}
	}
}

func TestAttributionVariables(t *testing.T) {
	e, _ := newEngine(t)
	set := e.RuleSet([]domain.Rule{{ID: 9, Name: "x", Condition: `employee_id == "emp-1" && response.channel == "WEB" && response.ces_low_effort`,
		Kind: domain.KindCallback, Team: "t", ResolutionSLA: time.Hour, Active: true, Version: 1}})
	r := domain.Response{ResponseID: "r", ScoreKind: domain.ScoreCES, Score: 6, EmployeeID: "emp-1", Channel: "WEB", SubmittedAt: time.Now()}
	if err := r.Normalize(); err != nil {
		t.Fatal(err)
	}
	if _, ok := set.Match(r, domain.RoutingFacts{}); !ok {
		t.Error("rule on employee, channel and effort did not match")
	}
	r.EmployeeID = "emp-2"
	if _, ok := set.Match(r, domain.RoutingFacts{}); ok {
		t.Error("rule matched another employee")
	}
}

// TestFactsDriveRules: language, tier, region and topics are variables of a condition,
// bare and as response.<name>; Explain lists the rules tried up to the match.
func TestFactsDriveRules(t *testing.T) {
	e, _ := newEngine(t)
	rules := []domain.Rule{
		{ID: 1, Name: "gold", Order: 1, Condition: `response.tier == "GOLD"`, Active: true, Version: 1},
		{ID: 2, Name: "german", Order: 2, Condition: `language == "de"`, Active: true, Version: 1},
		{ID: 3, Name: "north", Order: 3, Condition: `region == "north"`, Active: true, Version: 1},
		{ID: 4, Name: "topic", Order: 4, Condition: `"delivery" in topics`, Active: true, Version: 1},
		{ID: 5, Name: "off", Order: 0, Condition: `true`, Active: false, Version: 1},
	}
	set := e.RuleSet(rules)
	for _, tt := range []struct {
		f    domain.RoutingFacts
		want string
	}{
		{domain.RoutingFacts{Tier: "GOLD", Language: "de"}, "gold"},
		{domain.RoutingFacts{Language: "de", Region: "north"}, "german"},
		{domain.RoutingFacts{Region: "north"}, "north"},
		{domain.RoutingFacts{Topics: []string{"delivery"}}, "topic"},
		{domain.RoutingFacts{}, ""},
	} {
		rule, ok := set.Match(response(3), tt.f)
		if ok != (tt.want != "") || rule.Name != tt.want {
			t.Errorf("facts %+v matched %q (%v), want %q", tt.f, rule.Name, ok, tt.want)
		}
	}
	tried := set.Explain(response(3), domain.RoutingFacts{Region: "north"})
	if len(tried) != 3 || tried[0].Matched || !tried[2].Matched || tried[2].Name != "north" {
		t.Errorf("explain = %+v", tried)
	}
}

// TestCheckNamesLineAndColumn: a condition that does not compile or is not bool is a
// field error on spec.condition with its position.
func TestCheckNamesLineAndColumn(t *testing.T) {
	e, _ := newEngine(t)
	for cond, want := range map[string]string{
		"score <= 6 &&\n  tierx == \"GOLD\"": "spec.condition: line 2, column 3: undeclared reference to 'tierx'",
		"score":                              "spec.condition: line 1, column 1: the expression is of type int, want bool",
	} {
		err := e.Check(cond)
		var fe *domain.FieldError
		if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Check(%q) = %v, want %q", cond, err, want)
		}
	}
	if err := e.Check(`tier == "GOLD" && size(topics) == 0 && language == "de" && region != ""`); err != nil {
		t.Error(err)
	}
}
