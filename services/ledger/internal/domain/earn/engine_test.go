package earn

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

var berlin = mustLoc("Europe/Berlin")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func newEngine(t testing.TB) *Engine {
	t.Helper()
	pos, err := domain.NewPOSRules([]domain.Tender{
		{Currency: "EUR", PointsPerUnit: domain.MustRate(1, 1), MaxMinor: 10_000_000},
		{Currency: "JPY", PointsPerUnit: domain.MustRate(1, 100), MaxMinor: 1_000_000_000},
	}, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	months12, _ := domain.ParseExpiryPolicy("months:12")
	e, err := NewEngine(Config{POS: pos, Location: berlin, DefaultExpiry: months12})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A Tuesday afternoon in Berlin.
var at = time.Date(2026, 11, 24, 14, 30, 0, 0, berlin)

func basket() domain.Purchase {
	lines := []domain.Line{
		{SKU: "COF-1", Category: "coffee", Brand: "Arabica", Quantity: 2, AmountMinor: 399}, // 3.99
		{SKU: "COF-2", Category: "coffee", Brand: "Robusta", Quantity: 1, AmountMinor: 250}, // 2.50
		{SKU: "MLK-1", Category: "dairy", Brand: "Alm", Quantity: 1, AmountMinor: 129},      // 1.29
		{SKU: "BRD-1", Category: "bakery", Quantity: 3, AmountMinor: 1050},                  // 10.50
		{SKU: "TEA-1", Category: "tea", Brand: "Leaf", Quantity: 1, AmountMinor: 899},       // 8.99
	}
	var total int64
	for _, l := range lines {
		total += l.AmountMinor
	}
	return domain.Purchase{Key: domain.PurchaseKey{StoreID: "berlin-1", TransactionID: "t1"}, MemberID: "m1",
		OccurredAt: at, Currency: "EUR", TotalMinor: total, Lines: lines, Channel: "store"}
}

func rule(id string, mod func(*RuleVersion)) RuleVersion {
	v := RuleVersion{RuleID: id, Version: 1, Name: "rule " + id, Trigger: TriggerPurchase, Stacking: Additive,
		Award: Award{Kind: AwardPointsPerUnit, Rate: domain.MustRate(1, 1), Per: PerLine, On: TargetMatchingLines}}
	if mod != nil {
		mod(&v)
	}
	return v
}

func eval(t *testing.T, e *Engine, in PurchaseInput, vs ...RuleVersion) Explanation {
	t.Helper()
	// Drafts: tests reuse rule ids with other contents, which stored versions never do.
	s, errs := e.RuleSet(nil, vs...)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if in.Purchase.Key.StoreID == "" {
		in.Purchase = basket()
	}
	if in.Member.MemberID == "" {
		in.Member = Profile{MemberID: "m1", Tier: "gold", Tags: []string{"vip"}, Attributes: map[string]string{"city": "Berlin"}}
	}
	x, warns, err := e.EvaluatePurchase(s, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) > 0 {
		t.Fatal(warns)
	}
	var sum int64
	for _, p := range x.Parts {
		sum += p.Points
		var lines int64
		for _, lp := range p.LinePoints {
			lines += lp
		}
		if lines != p.Points {
			t.Errorf("part %s: line points %v add up to %d, want %d", p.RuleID, p.LinePoints, lines, p.Points)
		}
		if p.Points > p.Uncapped {
			t.Errorf("part %s awards %d, more than its rule's %d", p.RuleID, p.Points, p.Uncapped)
		}
	}
	if sum != x.Total {
		t.Errorf("parts add up to %d, total is %d", sum, x.Total)
	}
	return x
}

func part(x Explanation, id string) (Part, bool) {
	i := slices.IndexFunc(x.Parts, func(p Part) bool { return p.RuleID == id })
	if i < 0 {
		return Part{}, false
	}
	return x.Parts[i], true
}

func TestBaseAloneIsTodaysEarning(t *testing.T) {
	e := newEngine(t)
	x := eval(t, e, PurchaseInput{})
	// 27.27 EUR at 1 point per EUR, floored once on the total.
	if x.Total != 27 || len(x.Parts) != 1 || x.Parts[0].RuleID != BaseRuleID {
		t.Fatalf("got %+v, want the base part alone, 27 points", x)
	}
	if got := x.Parts[0].Expiry.String(); got != "months:12" || x.Parts[0].ExpiryOverridden {
		t.Fatalf("base expiry %s overridden=%v, want the programme's months:12", got, x.Parts[0].ExpiryOverridden)
	}
}

func TestAwardKindsAndRounding(t *testing.T) {
	e := newEngine(t)
	coffee := `line.category == "coffee"`
	cases := []struct {
		name  string
		award Award
		on    string
		want  int64
		lines []int64
	}{
		// 3.99 and 2.50 at 3 per EUR: floor(11.97)+floor(7.5) = 11+7.
		{"per unit per line", Award{Kind: AwardPointsPerUnit, Rate: domain.MustRate(3, 1), Per: PerLine, On: TargetMatchingLines}, coffee, 18, []int64{11, 7, 0, 0, 0}},
		// 6.49 at 3 per EUR floored once: 19, spread 399:250.
		{"per unit per basket", Award{Kind: AwardPointsPerUnit, Rate: domain.MustRate(3, 1), Per: PerBasket, On: TargetMatchingLines}, coffee, 19, []int64{12, 7, 0, 0, 0}},
		// Double points = one more base on the coffee: floor(3.99)+floor(2.50) = 3+2.
		{"multiplier per line", Award{Kind: AwardMultiplier, Rate: domain.MustRate(2, 1), Per: PerLine, On: TargetMatchingLines}, coffee, 5, []int64{3, 2, 0, 0, 0}},
		{"multiplier per basket", Award{Kind: AwardMultiplier, Rate: domain.MustRate(2, 1), Per: PerBasket, On: TargetMatchingLines}, coffee, 6, []int64{4, 2, 0, 0, 0}},
		// 1.5x the base on the whole basket: floor(27.27 * 0.5) = 13.
		{"multiplier 1.5 on the basket", Award{Kind: AwardMultiplier, Rate: domain.MustRate(3, 2), Per: PerBasket, On: TargetBasket}, "", 13, nil},
		// 10 per unit bought: 2 + 1 coffees.
		{"fixed per line", Award{Kind: AwardFixedBonus, Points: 10, Per: PerLine, On: TargetMatchingLines}, coffee, 30, []int64{20, 10, 0, 0, 0}},
		{"fixed per basket", Award{Kind: AwardFixedBonus, Points: 50, Per: PerBasket, On: TargetMatchingLines}, coffee, 50, nil},
		// The basket target with a filter: the rule applies because coffee is there, and
		// pays on every line: 3+2+1+10+8.
		{"per unit per line on the basket", Award{Kind: AwardPointsPerUnit, Rate: domain.MustRate(1, 1), Per: PerLine, On: TargetBasket}, coffee, 24, []int64{3, 2, 1, 10, 8}},
		// 0.25 per EUR exact: floor(0.9975)+floor(0.625) = 0.
		{"fractional rate per line", Award{Kind: AwardPointsPerUnit, Rate: domain.MustRate(1, 4), Per: PerLine, On: TargetMatchingLines}, coffee, 0, []int64{0, 0, 0, 0, 0}},
		{"fractional rate per basket", Award{Kind: AwardPointsPerUnit, Rate: domain.MustRate(1, 4), Per: PerBasket, On: TargetMatchingLines}, coffee, 1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := eval(t, e, PurchaseInput{}, rule("r", func(v *RuleVersion) { v.Award, v.LineFilter = c.award, c.on }))
			p, ok := part(x, "r")
			if !ok || p.Points != c.want || x.Total != 27+c.want {
				t.Fatalf("got %+v, want the rule to award %d on top of 27", x, c.want)
			}
			if c.lines != nil && !slices.Equal(p.LinePoints, c.lines) {
				t.Fatalf("line points %v, want %v", p.LinePoints, c.lines)
			}
			if c.on != "" && !slices.Equal(p.MatchedLines, []int{0, 1}) {
				t.Fatalf("matched lines %v, want the coffees 0 and 1", p.MatchedLines)
			}
		})
	}
}

func TestZeroDigitCurrencyIsExact(t *testing.T) {
	e := newEngine(t)
	p := basket()
	p.Currency, p.Lines, p.TotalMinor = "JPY", []domain.Line{{SKU: "A", Quantity: 1, AmountMinor: 199}, {SKU: "B", Quantity: 1, AmountMinor: 99}}, 298
	// The base is 1 point per 100 yen: floor(2.98) = 2; a multiplier of 3 per line adds
	// floor(1.99*2)+floor(0.99*2) = 3+1.
	x := eval(t, e, PurchaseInput{Purchase: p}, rule("r", func(v *RuleVersion) {
		v.Award = Award{Kind: AwardMultiplier, Rate: domain.MustRate(3, 1), Per: PerLine, On: TargetMatchingLines}
	}))
	if x.Total != 2+4 {
		t.Fatalf("got %+v, want 6", x)
	}
}

func TestConditionsSeeThePurchaseAndTheMember(t *testing.T) {
	e := newEngine(t)
	for _, c := range []struct {
		cond  string
		holds bool
	}{
		{`member.tier == "gold"`, true},
		{`member.tier == "silver"`, false},
		{`"vip" in member.tags`, true},
		{`member.attributes["city"] == "Berlin"`, true},
		{`purchase.store == "berlin-1" && purchase.channel == "store"`, true},
		{`purchase.total >= 27.0 && purchase.total_minor == 2727 && purchase.currency == "EUR"`, true},
		{`purchase.weekday == "tuesday" && purchase.hour == 14`, true},
		{`purchase.weekday in ["saturday", "sunday"]`, false},
		{`purchase.at >= timestamp("2026-11-23T00:00:00Z")`, true},
		{`purchase.lines.exists(l, l.brand == "Arabica" && l.quantity >= 2)`, true},
		{`purchase.lines.filter(l, l.category == "coffee").size() == 3`, false},
		{`purchase.lines.all(l, l.sku.startsWith("COF"))`, false},
	} {
		x := eval(t, e, PurchaseInput{}, rule("r", func(v *RuleVersion) { v.Condition = c.cond }))
		if _, ok := part(x, "r"); ok != c.holds {
			t.Errorf("%s: applied=%v, want %v", c.cond, ok, c.holds)
		}
	}
}

func TestCELErrorsNamePositionAndField(t *testing.T) {
	e := newEngine(t)
	for _, c := range []struct {
		field, cond, want string
	}{
		{"condition", `purchase.total >`, "line 1, column 17"},
		{"condition", "member.tier == \"gold\" &&\n  purchase.nope == 1", "line 2, column 11"},
		{"condition", `purchase.total + 1.0`, "type double, want bool"},
		{"condition", `line.sku == "x"`, "line 1, column 1"}, // no line in a condition
		{"line_filter", `line.category == 3`, "line 1, column 15"},
		{"condition", `purchase.lines.all(a, purchase.lines.all(b, a.sku.contains(b.sku)))`, "cost too much"},
	} {
		_, err := e.Compile(rule("r", func(v *RuleVersion) {
			if c.field == "condition" {
				v.Condition = c.cond
			} else {
				v.LineFilter = c.cond
			}
		}))
		var inv *InvalidError
		if !errors.As(err, &inv) || inv.Field != c.field || !strings.Contains(inv.Reason, c.want) {
			t.Errorf("%q: got %v, want an error of %s naming %q", c.cond, err, c.field, c.want)
		}
	}
}

func TestRuleChecksNameTheField(t *testing.T) {
	e := newEngine(t)
	for field, mod := range map[string]func(*RuleVersion){
		"trigger":      func(v *RuleVersion) { v.Trigger = "sale" },
		"stacking":     func(v *RuleVersion) { v.Stacking = "sometimes" },
		"group":        func(v *RuleVersion) { v.Stacking = BestOf },
		"award.rate":   func(v *RuleVersion) { v.Award.Kind, v.Award.Rate = AwardMultiplier, domain.MustRate(1, 2) },
		"award.kind":   func(v *RuleVersion) { v.Trigger = "custom:birthday" },
		"expiry":       func(v *RuleVersion) { v.Expiry = "weeks:2" },
		"valid_until":  func(v *RuleVersion) { v.ValidFrom, v.ValidUntil = at, at },
		"caps.per_day": func(v *RuleVersion) { v.Caps.PerDay = -1 },
	} {
		_, err := e.Compile(rule("r-"+field, mod))
		var inv *InvalidError
		if !errors.As(err, &inv) || inv.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

func TestStacking(t *testing.T) {
	e := newEngine(t)
	fixed := func(id string, points int64, prio int, st Stacking, group string) RuleVersion {
		return rule(id, func(v *RuleVersion) {
			v.Award = Award{Kind: AwardFixedBonus, Points: points, Per: PerBasket, On: TargetBasket}
			v.Priority, v.Stacking, v.Group = prio, st, group
		})
	}
	ids := func(x Explanation) []string {
		var out []string
		for _, p := range x.Parts {
			out = append(out, p.RuleID)
		}
		return out
	}
	x := eval(t, e, PurchaseInput{}, fixed("a", 10, 1, Additive, ""), fixed("b", 20, 2, Additive, ""))
	if got := ids(x); !slices.Equal(got, []string{"base", "b", "a"}) || x.Total != 57 {
		t.Errorf("additive: %v total %d", got, x.Total)
	}
	x = eval(t, e, PurchaseInput{}, fixed("a", 10, 9, BestOf, "g"), fixed("b", 30, 1, BestOf, "g"), fixed("c", 5, 1, BestOf, "h"), fixed("d", 1, 0, Additive, ""))
	if got := ids(x); !slices.Equal(got, []string{"base", "b", "c", "d"}) || x.Total != 27+36 {
		t.Errorf("best_of: %v total %d", got, x.Total)
	}
	x = eval(t, e, PurchaseInput{}, fixed("a", 100, 1, Additive, ""), fixed("x1", 5, 3, Exclusive, ""), fixed("x2", 50, 2, Exclusive, ""))
	if got := ids(x); !slices.Equal(got, []string{"base", "x1"}) || x.Total != 32 {
		t.Errorf("exclusive: %v total %d, want the highest-priority exclusive rule alone with the base", got, x.Total)
	}
	// An exclusive rule that does not apply shuts out nothing.
	x = eval(t, e, PurchaseInput{}, fixed("a", 100, 1, Additive, ""), rule("x", func(v *RuleVersion) {
		v.Stacking, v.Priority, v.Condition = Exclusive, 9, `member.tier == "bronze"`
	}))
	if got := ids(x); !slices.Equal(got, []string{"base", "a"}) {
		t.Errorf("exclusive not matching: %v", got)
	}
}

func TestCaps(t *testing.T) {
	e := newEngine(t)
	tenPerEuro := func(c Caps) RuleVersion {
		return rule("r", func(v *RuleVersion) {
			v.Award.Rate, v.Caps = domain.MustRate(10, 1), c
		})
	}
	// Uncapped: 10 per EUR per line = 39+25+12+105+89 = 270.
	if x := eval(t, e, PurchaseInput{}, tenPerEuro(Caps{})); x.Total != 27+270 {
		t.Fatalf("uncapped: %d", x.Total)
	}
	u := Usage{
		{"m1", "r", "d:2026-11-24"}: 450,
		{"m1", "r", "m:2026-11"}:    900,
		{"m1", "r", "all"}:          1000,
	}
	for _, c := range []struct {
		caps Caps
		want int64
		kind CapKind
	}{
		{Caps{PerPurchase: 100}, 100, CapPerPurchase},
		{Caps{PerDay: 500}, 50, CapPerDay},
		{Caps{PerMonth: 1000, PerDay: 800}, 100, CapPerMonth},
		{Caps{PerCampaign: 1000}, 0, CapPerCampaign},
		{Caps{PerPurchase: 300, PerDay: 5000}, 270, CapNone},
	} {
		x := eval(t, e, PurchaseInput{Usage: u}, tenPerEuro(c.caps))
		p, _ := part(x, "r")
		if p.Points != c.want || p.Cap != c.kind || p.Uncapped != 270 {
			t.Errorf("%+v: got %d capped by %q, want %d by %q", c.caps, p.Points, p.Cap, c.want, c.kind)
		}
	}
	// Another day in the programme's zone: 00:30 in Berlin is still the 24th in UTC
	// minus one hour, so the zone decides.
	p := basket()
	p.OccurredAt = time.Date(2026, 11, 25, 0, 30, 0, 0, berlin)
	x := eval(t, e, PurchaseInput{Purchase: p, Usage: u}, tenPerEuro(Caps{PerDay: 500}))
	if got, _ := part(x, "r"); got.Points != 270 {
		t.Errorf("next day: %d, want the day cap fresh", got.Points)
	}
}

func TestRecordCountsForTheNextPurchase(t *testing.T) {
	e := newEngine(t)
	v := rule("r", func(v *RuleVersion) { v.Award.Rate, v.Caps = domain.MustRate(10, 1), Caps{PerDay: 500} })
	s, _ := e.RuleSet([]RuleVersion{v})
	u := Usage{}
	var got []int64
	for range 3 {
		x, _, err := e.EvaluatePurchase(s, PurchaseInput{Purchase: basket(), Member: Profile{MemberID: "m1"}, Usage: u})
		if err != nil {
			t.Fatal(err)
		}
		inc := e.Record(u, s, "m1", at, x)
		if inc[UsageKey{"m1", "r", "d:2026-11-24"}] != x.Total-27 || len(inc) > 1 {
			t.Fatalf("increment %v for %d points", inc, x.Total-27)
		}
		got = append(got, x.Total-27)
	}
	if !slices.Equal(got, []int64{270, 230, 0}) {
		t.Fatalf("three purchases earned %v, want 270, 230, 0 under a day cap of 500", got)
	}
}

func TestWindowsAndCampaigns(t *testing.T) {
	e := newEngine(t)
	bonus := func(mod func(*RuleVersion)) RuleVersion {
		return rule("r", func(v *RuleVersion) {
			v.Award = Award{Kind: AwardFixedBonus, Points: 100, Per: PerBasket, On: TargetBasket}
			if mod != nil {
				mod(v)
			}
		})
	}
	applies := func(in PurchaseInput, v RuleVersion) int64 {
		p, _ := part(eval(t, e, in, v), "r")
		return p.Points
	}
	if applies(PurchaseInput{}, bonus(func(v *RuleVersion) { v.ValidFrom = at.Add(time.Second) })) != 0 {
		t.Error("a rule not yet valid applied")
	}
	if applies(PurchaseInput{}, bonus(func(v *RuleVersion) { v.ValidUntil = at })) != 0 {
		t.Error("a rule valid until the purchase's instant applied (the end is exclusive)")
	}
	if applies(PurchaseInput{}, bonus(func(v *RuleVersion) { v.ValidFrom, v.ValidUntil = at, at.Add(time.Hour) })) != 100 {
		t.Error("a rule valid from the purchase's instant did not apply")
	}
	camp := Campaign{ID: "c", Name: "coffee week", Active: true, Stores: []string{"berlin-1"}, Channels: []string{"store"},
		From: at.Add(-time.Hour), Until: at.Add(time.Hour), Budget: 1000, Spent: 960}
	inCamp := bonus(func(v *RuleVersion) { v.CampaignID = "c" })
	for name, c := range map[string]struct {
		mod  func(*Campaign)
		want int64
	}{
		"budget left 40":  {func(*Campaign) {}, 40},
		"unlimited":       {func(c *Campaign) { c.Budget = 0 }, 100},
		"exhausted":       {func(c *Campaign) { c.Spent = 1000 }, 0},
		"inactive":        {func(c *Campaign) { c.Active = false }, 0},
		"another store":   {func(c *Campaign) { c.Stores = []string{"hamburg-1"} }, 0},
		"web only":        {func(c *Campaign) { c.Channels = []string{"web"} }, 0},
		"over":            {func(c *Campaign) { c.Until = at }, 0},
		"every store too": {func(c *Campaign) { c.Stores, c.Budget = nil, 0 }, 100},
	} {
		cc := camp
		c.mod(&cc)
		x := eval(t, e, PurchaseInput{Campaigns: map[string]Campaign{"c": cc}}, inCamp)
		p, _ := part(x, "r")
		if p.Points != c.want {
			t.Errorf("%s: %d, want %d", name, p.Points, c.want)
		}
		if c.want == 40 && (p.Cap != CapBudget || x.Spent()["c"] != 40) {
			t.Errorf("%s: cap %q spent %v", name, p.Cap, x.Spent())
		}
	}
	if applies(PurchaseInput{}, inCamp) != 0 {
		t.Error("a rule of an unknown campaign applied")
	}
	// Two rules of one campaign share what is left, in priority order.
	x := eval(t, e, PurchaseInput{Campaigns: map[string]Campaign{"c": camp}}, inCamp,
		rule("s", func(v *RuleVersion) {
			v.CampaignID, v.Priority = "c", -1
			v.Award = Award{Kind: AwardFixedBonus, Points: 100, Per: PerBasket, On: TargetBasket}
		}))
	if x.Spent()["c"] != 40 || x.Total != 27+40 {
		t.Errorf("two rules of one campaign spent %v of 40 left", x.Spent())
	}
}

func TestExpiryOverride(t *testing.T) {
	e := newEngine(t)
	x := eval(t, e, PurchaseInput{}, rule("r", func(v *RuleVersion) { v.Expiry = "quarters:1" }), rule("s", nil))
	r, _ := part(x, "r")
	s, _ := part(x, "s")
	if r.Expiry.String() != "quarters:1" || !r.ExpiryOverridden || s.Expiry.String() != "months:12" || s.ExpiryOverridden {
		t.Fatalf("r %s/%v s %s/%v", r.Expiry, r.ExpiryOverridden, s.Expiry, s.ExpiryOverridden)
	}
}

func TestCompiledOncePerVersion(t *testing.T) {
	e := newEngine(t)
	v := rule("r", func(v *RuleVersion) { v.Condition = `member.tier == "gold"` })
	a, _ := e.Compile(v)
	b, _ := e.Compile(v)
	v.Version, v.Condition = 2, `member.tier == "silver"`
	c, _ := e.Compile(v)
	if a != b || a == c {
		t.Fatal("want one compiled rule per (id, version)")
	}
	if _, err := e.Check(rule("draft", func(v *RuleVersion) { v.Condition = "true" })); err != nil {
		t.Fatal(err)
	}
	if len(e.cache) != 2 {
		t.Fatalf("a draft was cached: %d entries", len(e.cache))
	}
}

func TestCustomEventsOncePerPeriod(t *testing.T) {
	e := newEngine(t)
	v := rule("bday", func(v *RuleVersion) {
		v.Trigger, v.EventLimit, v.Condition = "custom:birthday", LimitYear, `event.attributes["verified"] == "yes" && member.tier != ""`
		v.Award = Award{Kind: AwardFixedBonus, Points: 500, Per: PerBasket, On: TargetBasket}
	})
	other := rule("review", func(v *RuleVersion) {
		v.Trigger = "custom:review_written"
		v.Award = Award{Kind: AwardFixedBonus, Points: 50, Per: PerBasket, On: TargetBasket}
	})
	s, errs := e.RuleSet([]RuleVersion{v, other})
	if errs != nil {
		t.Fatal(errs)
	}
	u := Usage{}
	in := EventInput{Type: "birthday", Attributes: map[string]string{"verified": "yes"}, At: at, Member: Profile{MemberID: "m1", Tier: "gold"}, Usage: u}
	x, warns := e.EvaluateEvent(s, in)
	if x.Total != 500 || len(x.Parts) != 1 || len(warns) > 0 {
		t.Fatalf("first birthday: %+v %v", x, warns)
	}
	e.Record(u, s, "m1", at, x)
	if x, _ = e.EvaluateEvent(s, in); x.Total != 0 || x.Parts[0].Cap != CapEventLimit {
		t.Fatalf("second birthday the same year: %+v", x)
	}
	in.At = at.AddDate(1, 0, 0)
	if x, _ = e.EvaluateEvent(s, in); x.Total != 500 {
		t.Fatalf("next year: %+v", x)
	}
	in.Attributes = nil
	if x, _ = e.EvaluateEvent(s, in); x.Total != 0 || len(x.Parts) != 0 {
		t.Fatalf("unverified: %+v", x)
	}
	// Purchases never trigger custom rules.
	if x := eval(t, e, PurchaseInput{}, v, other); x.Total != 27 {
		t.Fatalf("purchase took custom rules: %+v", x)
	}
}

func TestAllocateAddsUp(t *testing.T) {
	for _, c := range []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{10, []int64{1, 1, 1}, []int64{4, 3, 3}},
		{7, []int64{0, 0}, []int64{4, 3}},
		{100, []int64{399, 250}, []int64{61, 39}},
		{0, []int64{5}, []int64{0}},
	} {
		if got := allocate(c.total, c.weights); !slices.Equal(got, c.want) {
			t.Errorf("allocate(%d, %v) = %v, want %v", c.total, c.weights, got, c.want)
		}
	}
}

// BenchmarkEvaluate50Rules: 50 rules, 10 of which match a 5-line basket.
func BenchmarkEvaluate50Rules(b *testing.B) {
	e := newEngine(b)
	var vs []RuleVersion
	for i := range 50 {
		vs = append(vs, rule(fmt.Sprintf("r%02d", i), func(v *RuleVersion) {
			if i < 10 {
				v.Condition = `member.tier == "gold" && purchase.store == "berlin-1"`
				v.LineFilter = `line.category == "coffee"`
				v.Award = Award{Kind: AwardMultiplier, Rate: domain.MustRate(2, 1), Per: PerLine, On: TargetMatchingLines}
				v.Caps.PerDay = 500
			} else {
				v.Condition = fmt.Sprintf(`purchase.store == "store-%d" && purchase.lines.exists(l, l.brand == "B%d")`, i, i)
			}
		}))
	}
	s, errs := e.RuleSet(vs)
	if errs != nil {
		b.Fatal(errs)
	}
	in := PurchaseInput{Purchase: basket(), Member: Profile{MemberID: "m1", Tier: "gold"}, Usage: Usage{}}
	b.ReportAllocs()
	for b.Loop() {
		x, _, err := e.EvaluatePurchase(s, in)
		if err != nil || len(x.Parts) != 11 {
			b.Fatal(err, len(x.Parts))
		}
	}
	b.ReportMetric(float64(b.N*50)/b.Elapsed().Seconds(), "rule-evals/s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "purchases/s")
}

func TestByExpiryGroupsParts(t *testing.T) {
	e := newEngine(t)
	x := eval(t, e, PurchaseInput{},
		rule("q", func(v *RuleVersion) { v.Expiry = "quarters:1" }),
		rule("s", func(v *RuleVersion) { v.Award.Kind, v.Award.Points = AwardFixedBonus, 5 }))
	got := x.ByExpiry()
	// The base (27) and s (5 a unit, 8 units) expire by the programme's months:12, q by quarters:1.
	q, _ := part(x, "q")
	if len(got) != 2 || got[0].Expiry.String() != "months:12" || got[0].Points != 27+5*8 ||
		got[1].Expiry.String() != "quarters:1" || got[1].Points != q.Points {
		t.Fatalf("by expiry %+v", got)
	}
}
