package earn

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/quick"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// randomRule is a rule of any award, scope, target, stacking and caps, some in campaign
// "c".
func randomRule(r *rand.Rand, i int) RuleVersion {
	kinds := []AwardKind{AwardPointsPerUnit, AwardMultiplier, AwardFixedBonus}
	v := RuleVersion{RuleID: fmt.Sprintf("r%02d", i), Version: 1, Name: "random", Trigger: TriggerPurchase, Priority: r.IntN(5),
		Award: Award{Kind: kinds[r.IntN(3)], Per: []Scope{PerLine, PerBasket}[r.IntN(2)], On: []Target{TargetMatchingLines, TargetBasket}[r.IntN(2)]}}
	switch v.Award.Kind {
	case AwardPointsPerUnit:
		v.Award.Rate = domain.MustRate(int64(1+r.IntN(300)), 100)
	case AwardMultiplier:
		v.Award.Rate = domain.MustRate(int64(100+r.IntN(300)), 100)
	default:
		v.Award.Points = int64(1 + r.IntN(200))
	}
	switch r.IntN(3) {
	case 0:
		v.Stacking = Additive
	case 1:
		v.Stacking, v.Group = BestOf, []string{"g1", "g2"}[r.IntN(2)]
	default:
		v.Stacking = Exclusive
	}
	if r.IntN(2) == 0 {
		v.LineFilter = fmt.Sprintf(`line.category == "c%d"`, r.IntN(3))
	}
	if r.IntN(3) == 0 {
		v.Caps = Caps{PerPurchase: int64(r.IntN(100)), PerDay: int64(r.IntN(300)), PerMonth: int64(r.IntN(1000))}
	}
	if r.IntN(2) == 0 {
		v.CampaignID = "c"
	}
	return v
}

// Whatever the rules and purchases: every part adds up over its lines, never awards
// more than its rule said, the total is the sum of the parts, caps hold over a member's
// purchases, and the campaign never spends beyond its budget.
func TestEvaluationInvariants(t *testing.T) {
	e := newEngine(t)
	var ruleParts, capped, budgetCut int
	check := func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 7))
		var vs []RuleVersion
		for i := range 1 + r.IntN(12) {
			vs = append(vs, randomRule(r, i))
		}
		s, errs := e.RuleSet(nil, vs...)
		if len(errs) > 0 {
			t.Log(errs)
			return false
		}
		budget := int64(r.IntN(2000))
		camps := map[string]Campaign{"c": {ID: "c", Name: "c", Active: true, Budget: budget}}
		usage := Usage{}
		awarded := map[UsageKey]int64{} // by rule and day, and month
		var spent int64
		for n := range 20 {
			p := domain.Purchase{Key: domain.PurchaseKey{StoreID: "s", TransactionID: fmt.Sprint(n)}, MemberID: "m",
				OccurredAt: at.Add(time.Duration(r.IntN(72)) * time.Hour), Currency: "EUR"}
			for range r.IntN(6) {
				l := domain.Line{SKU: "x", Category: fmt.Sprintf("c%d", r.IntN(3)), Quantity: int32(1 + r.IntN(3)), AmountMinor: int64(r.IntN(5000))}
				p.Lines = append(p.Lines, l)
				p.TotalMinor += l.AmountMinor
			}
			x, warns, err := e.EvaluatePurchase(s, PurchaseInput{Purchase: p, Member: Profile{MemberID: "m"}, Usage: usage, Campaigns: camps})
			if err != nil || len(warns) > 0 {
				t.Log(err, warns)
				return false
			}
			var sum int64
			for _, part := range x.Parts {
				var lines int64
				for _, lp := range part.LinePoints {
					if lp < 0 {
						return false
					}
					lines += lp
				}
				if part.Points < 0 || part.Points > part.Uncapped || (len(p.Lines) > 0 && lines != part.Points) {
					t.Logf("part %+v", part)
					return false
				}
				sum += part.Points
				if part.RuleID != BaseRuleID {
					ruleParts++
					if part.Cap == CapBudget {
						budgetCut++
					} else if part.Cap != CapNone {
						capped++
					}
					v := s.rule(part.RuleID)
					day, month, _ := e.periods(p.OccurredAt)
					awarded[UsageKey{"m", part.RuleID, "d:" + day}] += part.Points
					awarded[UsageKey{"m", part.RuleID, "m:" + month}] += part.Points
					if c := v.Caps; c.PerPurchase > 0 && part.Points > c.PerPurchase ||
						c.PerDay > 0 && awarded[UsageKey{"m", part.RuleID, "d:" + day}] > c.PerDay ||
						c.PerMonth > 0 && awarded[UsageKey{"m", part.RuleID, "m:" + month}] > c.PerMonth {
						t.Logf("caps %+v broken by %+v", c, part)
						return false
					}
				}
			}
			if sum != x.Total {
				return false
			}
			for id, n := range x.Spent() {
				c := camps[id]
				c.Spent += n
				camps[id] = c
				spent += n
			}
			if budget > 0 && spent > budget {
				t.Logf("spent %d of %d", spent, budget)
				return false
			}
			e.Record(usage, s, "m", p.OccurredAt, x)
		}
		return true
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 300}); err != nil {
		t.Fatal(err)
	}
	// The generator must reach what it checks.
	if ruleParts < 1000 || capped < 50 || budgetCut < 50 {
		t.Fatalf("only %d rule parts, %d capped, %d cut by the budget", ruleParts, capped, budgetCut)
	}
}
