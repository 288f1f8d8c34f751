package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

func TestSampledIsDeterministicAndProportional(t *testing.T) {
	const n = 10000
	for _, rate := range []float64{0.1, 0.5, 0.9} {
		in := 0
		for i := range n {
			m := "member-" + string(rune('a'+i%26)) + "-" + time.Duration(i).String()
			got := domain.Sampled(m, "rule-1", rate)
			if got != domain.Sampled(m, "rule-1", rate) {
				t.Fatalf("member %s: two answers", m)
			}
			if got {
				in++
			}
		}
		if share := float64(in) / n; share < rate-0.03 || share > rate+0.03 {
			t.Errorf("rate %v: %v of members sampled", rate, share)
		}
	}
	// Another rule samples independently; 1 (and 0, meaning 1) takes everyone.
	same := 0
	for i := range 1000 {
		m := "m" + time.Duration(i).String()
		if domain.Sampled(m, "rule-1", 0.5) == domain.Sampled(m, "rule-2", 0.5) {
			same++
		}
		if !domain.Sampled(m, "rule-1", 1) || !domain.Sampled(m, "rule-1", 0) {
			t.Fatal("a rate of 1 (or 0) must take every member")
		}
	}
	if same < 400 || same > 600 {
		t.Errorf("two rules agreed on %d of 1000 members: not independent", same)
	}
	// Lower rates choose subsets of higher ones.
	for i := range 1000 {
		m := "m" + time.Duration(i).String()
		if domain.Sampled(m, "r", 0.2) && !domain.Sampled(m, "r", 0.6) {
			t.Fatalf("member %s in the 20%% sample but not in the 60%% one", m)
		}
	}
}

func compile(t *testing.T, e *domain.TriggerEngine, r domain.TriggerRule) *domain.CompiledRule {
	t.Helper()
	r = r.Normalize()
	if r.SurveyID == "" {
		r.SurveyID = domain.DefaultNPSSurveyID
	}
	if r.Name == "" {
		r.Name = r.ID
	}
	c, err := e.Compile(r)
	if err != nil {
		t.Fatalf("rule %s: %v", r.ID, err)
	}
	return c
}

func TestRuleChoice(t *testing.T) {
	e, err := domain.NewTriggerEngine()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rules := []*domain.CompiledRule{
		compile(t, e, domain.TriggerRule{ID: "all", Active: true, CreatedAt: t0}),
		compile(t, e, domain.TriggerRule{ID: "calls-old", Active: true, Priority: 5, CreatedAt: t0.Add(time.Hour),
			Touchpoints: []domain.Touchpoint{domain.TouchpointServiceCall}}),
		compile(t, e, domain.TriggerRule{ID: "calls-new", Active: true, Priority: 5, CreatedAt: t0.Add(2 * time.Hour),
			Touchpoints: []domain.Touchpoint{domain.TouchpointServiceCall}}),
		compile(t, e, domain.TriggerRule{ID: "big-web", Active: true, Priority: 9, CreatedAt: t0,
			Condition: `touchpoint.channel == "WEB" && touchpoint.amount_minor > 10000`}),
		compile(t, e, domain.TriggerRule{ID: "vip", Active: true, Priority: 20, CreatedAt: t0,
			Condition: `"vip" in member.tags && member.tier != "" && touchpoint.employee.startsWith("E-")`}),
		compile(t, e, domain.TriggerRule{ID: "off", Active: false, Priority: 99, CreatedAt: t0}),
		compile(t, e, domain.TriggerRule{ID: "fails", Active: true, Priority: 50, CreatedAt: t0,
			Condition: `member.tags[3] == "x"`}),
	}
	set := domain.NewRuleSet(1, rules)
	trig := func(tp domain.Touchpoint, channel string, amount int64, employee string) domain.Trigger {
		return domain.Trigger{Touchpoint: tp, SalesChannel: channel, AmountMinor: amount, EmployeeID: employee}
	}
	for _, c := range []struct {
		name string
		f    domain.Facts
		want string
	}{
		{"a purchase: the rule for all", domain.FactsOf(trig(domain.TouchpointPurchase, "STORE", 500, ""), "", nil), "all"},
		{"a call: the older of two equal priorities", domain.FactsOf(trig(domain.TouchpointServiceCall, "", 0, ""), "", nil), "calls-old"},
		{"a big web purchase", domain.FactsOf(trig(domain.TouchpointPurchase, "WEB", 20000, ""), "", nil), "big-web"},
		{"a vip served by an employee", domain.FactsOf(trig(domain.TouchpointServiceCall, "", 0, "E-1"), "gold", []string{"vip"}), "vip"},
		{"a vip without an employee", domain.FactsOf(trig(domain.TouchpointServiceCall, "", 0, ""), "gold", []string{"vip"}), "calls-old"},
	} {
		got := set.Choose(c.f)
		if got == nil || got.ID != c.want {
			t.Errorf("%s: chose %v, want %s", c.name, got, c.want)
		}
	}
	if got := domain.NewRuleSet(2, rules[5:6]).Choose(domain.FactsOf(trig(domain.TouchpointPurchase, "", 0, ""), "", nil)); got != nil {
		t.Errorf("only an inactive rule: chose %s", got.ID)
	}
}

func TestConditionErrorsNameTheirPosition(t *testing.T) {
	e, err := domain.NewTriggerEngine()
	if err != nil {
		t.Fatal(err)
	}
	for cond, want := range map[string]string{
		`touchpoint.store ==`:                      "line 1, column 20",
		"touchpoint.store == \"S1\" &&\n member.x": "line 2, column",
		`touchpoint.amount_minor`:                  "want bool",
		`touchpoint.amount_minor > "100"`:          "line 1, column",
		strings.Repeat("true && ", 300) + "true":   "at most 2000",
	} {
		_, err := e.Compile(domain.TriggerRule{ID: "r", Name: "r", SurveyID: "s", SamplingRate: 1, Condition: cond})
		var fe *domain.FieldError
		if !errors.As(err, &fe) || fe.Field != "spec.condition" || !strings.Contains(fe.Reason, want) {
			t.Errorf("%q: %v, want spec.condition with %q", cond, err, want)
		}
	}
	for _, r := range []domain.TriggerRule{
		{Name: "", SurveyID: "s", SamplingRate: 1},
		{Name: "n", SurveyID: "s", SamplingRate: 1.5},
		{Name: "n", SurveyID: "s", SamplingRate: 1, Delay: 91 * 24 * time.Hour},
		{Name: "n", SurveyID: "s", SamplingRate: 1, Channels: []domain.DeliveryChannel{domain.ChannelReceipt}},
	} {
		if _, err := e.Compile(r); err == nil {
			t.Errorf("%+v compiled", r)
		}
	}
}

func TestDueAtAndPolicy(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if got := domain.DueAt(now.Add(-time.Hour), 48*time.Hour, now); !got.Equal(now.Add(47 * time.Hour)) {
		t.Errorf("due %v", got)
	}
	if got := domain.DueAt(now.Add(-72*time.Hour), 48*time.Hour, now); !got.Equal(now) {
		t.Errorf("a late trigger is due now, not %v", got)
	}
	// A touchpoint a little ahead counts from its time; one dated years ahead from now.
	if got := domain.DueAt(now.Add(time.Hour), 48*time.Hour, now); !got.Equal(now.Add(49 * time.Hour)) {
		t.Errorf("an hour ahead: due %v", got)
	}
	if got := domain.DueAt(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 48*time.Hour, now); !got.Equal(now.Add(48 * time.Hour)) {
		t.Errorf("year 9999: due %v, want %v", got, now.Add(48*time.Hour))
	}
	// Whole seconds, never before the delay has passed; a trigger due already is due at
	// once (its second).
	if got := domain.DueAt(now.Add(-300*time.Millisecond), 2*time.Second, now); !got.Equal(now.Add(2 * time.Second)) {
		t.Errorf("a delay ending at 1.7s is due at %v, want the next whole second", got)
	}
	if got := domain.DueAt(now.Add(-time.Hour), 0, now.Add(400*time.Millisecond)); !got.Equal(now) {
		t.Errorf("a trigger without delay is due %v, want its second", got)
	}
	for _, c := range []struct {
		m        domain.MemberState
		returned bool
		want     domain.SuppressionReason
	}{
		{domain.MemberState{Erased: true}, true, domain.SuppressedErased},
		{domain.MemberState{Known: true, Consent: true}, true, domain.SuppressedReturned},
		{domain.MemberState{Known: true, OpenCase: true}, false, domain.SuppressedNoConsent},
		{domain.MemberState{Known: true, Consent: true, OpenCase: true}, false, domain.SuppressedOpenCase},
		{domain.MemberState{Known: true, Consent: true}, false, ""},
	} {
		if got, ok := domain.PolicyAtTrigger(c.m, c.returned); got != c.want || ok != (c.want == "") {
			t.Errorf("%+v returned=%v: %q %v, want %q", c.m, c.returned, got, ok, c.want)
		}
	}
}
