package earn

import (
	"testing"

	"cel.dev/cel-go/common/types"
)

// TestFieldReadsMatchReflection: every field of the facts is read without reflection, and
// reads what the reflected read would have, for pointers and values, set and zero.
func TestFieldReadsMatchReflection(t *testing.T) {
	e := newEngine(t)
	adapter := e.lineEnv.CELTypeAdapter()
	typed, ok := e.lineEnv.CELTypeProvider().(factsProvider)
	if !ok {
		t.Fatalf("the provider is a %T", e.lineEnv.CELTypeProvider())
	}
	evTyped, ok := e.evEnv.CELTypeProvider().(factsProvider)
	if !ok {
		t.Fatalf("the event provider is a %T", e.evEnv.CELTypeProvider())
	}
	p := e.purchaseFacts(basket(), 2)
	line := p.Lines[0]
	objects := map[string][]any{
		"earn.PurchaseFacts": {p, *p, &PurchaseFacts{}, PurchaseFacts{}},
		"earn.LineFacts":     {&line, line, &LineFacts{}, LineFacts{}},
		"earn.MemberFacts": {memberFacts(Profile{Tier: "gold", Tags: []string{"vip"}, Attributes: map[string]string{"city": "Berlin"}}),
			&MemberFacts{}, MemberFacts{Tier: "silver"}},
		"earn.EventFacts": {&EventFacts{Type: "review", Source: "app", Attributes: map[string]string{"stars": "5"}, At: at},
			&EventFacts{}, EventFacts{Type: "birthday"}},
	}
	for typeName, objs := range objects {
		prov := typed
		if typeName == "earn.EventFacts" {
			prov = evTyped
		}
		names, ok := prov.FindStructFieldNames(typeName)
		if !ok || len(names) == 0 {
			t.Fatalf("%s: no fields", typeName)
		}
		for _, name := range names {
			if fieldReads[typeName+"."+name] == nil {
				t.Errorf("%s.%s is read by reflection", typeName, name)
				continue
			}
			fast, _ := prov.FindStructFieldType(typeName, name)
			slow, _ := prov.Provider.FindStructFieldType(typeName, name)
			for i, obj := range objs {
				got, err1 := fast.GetFrom(obj)
				want, err2 := slow.GetFrom(obj)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s.%s #%d: %v, %v", typeName, name, i, err1, err2)
				}
				g, w := adapter.NativeToValue(got), adapter.NativeToValue(want)
				if g.Type() != w.Type() || g.Equal(w) != types.True {
					t.Errorf("%s.%s #%d: read %v (%T), reflection reads %v (%T)", typeName, name, i, g, g, w, w)
				}
			}
		}
	}
}

// TestFieldReadsInRules: rules over every kind of field still decide as written.
func TestFieldReadsInRules(t *testing.T) {
	for _, cond := range []string{
		`purchase.store == "berlin-1" && purchase.channel == "store" && purchase.currency == "EUR"`,
		`purchase.total > 23.0 && purchase.total_minor == 2727 && purchase.hour == 14 && purchase.weekday == "tuesday"`,
		`purchase.at == timestamp("2026-11-24T13:30:00Z") && purchase.lines.size() == 5`,
		`purchase.lines.exists(l, l.brand == "Leaf" && l.amount_minor == 899 && l.quantity == 1 && l.amount == 8.99)`,
		`purchase.lines.filter(l, l.category == "coffee").map(l, l.sku) == ["COF-1", "COF-2"]`,
		`member.tier == "gold" && "vip" in member.tags && member.attributes["city"] == "Berlin"`,
		`member.attributes[purchase.weekday == "tuesday" ? "city" : "x"].startsWith("Ber")`,
		`purchase.lines[0] == purchase.lines[0] && purchase.lines[0] != purchase.lines[1]`,
	} {
		x := eval(t, newEngine(t), PurchaseInput{}, rule("r", func(v *RuleVersion) {
			v.Condition = cond
			v.Award = Award{Kind: AwardFixedBonus, Points: 7, Per: PerBasket, On: TargetBasket}
		}))
		if p, ok := part(x, "r"); !ok || p.Points != 7 {
			t.Errorf("%s: did not hold: %+v", cond, x)
		}
	}
}
