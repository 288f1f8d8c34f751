package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/scripts/internal/stack"
)

// matchingRules of the seeded rules match every simulated basket: half award a point per
// unit bought (a line filter evaluated on every line), half two points per basket; the
// others test the store and the lines and never match, as most of a real programme's
// rules do not match a given basket.
const matchingRules = 10

// seedTiers defines Bronze, Silver and Gold with thresholds no bench member reaches: every
// purchase batch keeps the members' qualifying figures and checks for upgrades, as in
// production, while the rules' expected points stay those of Bronze.
func seedTiers(ctx context.Context, s *stack.Stack) error {
	conn, err := s.Conn("ledger", "marketing")
	if err != nil {
		return err
	}
	_, err = ledgerv1.NewTierServiceClient(conn).DefineTiers(ctx, &ledgerv1.DefineTiersRequest{
		Basis: ledgerv1.TierBasis_TIER_BASIS_ROLLING, WindowMonths: 12, GracePeriod: durationpb.New(30 * 24 * time.Hour),
		Tiers: []*ledgerv1.Tier{
			{Code: "bronze", Name: "Bronze", Rank: 1},
			{Code: "silver", Name: "Silver", Rank: 2, MinPoints: 1_000_000_000},
			{Code: "gold", Name: "Gold", Rank: 3, MinPoints: 2_000_000_000},
		},
	})
	return err
}

// seedRules creates n active earning rules, matchingRules of them (at most) matching
// every purchase the benchmark publishes; tier is the members' tier.
func seedRules(ctx context.Context, s *stack.Stack, n int, tier string) error {
	conn, err := s.Conn("ledger", "marketing")
	if err != nil {
		return err
	}
	program := ledgerv1.NewProgramServiceClient(conn)
	for i := range n {
		d := &ledgerv1.RuleDefinition{Name: fmt.Sprintf("bench rule %d", i), Trigger: "purchase", Stacking: "additive"}
		switch {
		case i < matchingRules/2:
			d.Condition = fmt.Sprintf(`member.tier == %q && purchase.currency == "EUR"`, tier)
			d.LineFilter = `line.quantity >= 1 && line.amount_minor > 0`
			d.Award = &ledgerv1.Award{Kind: "fixed_bonus", Points: 1, Per: "line", On: "matching_lines"}
		case i < matchingRules:
			d.Condition = `purchase.total_minor > 0 && purchase.channel == "store"`
			d.Award = &ledgerv1.Award{Kind: "fixed_bonus", Points: 2, Per: "basket", On: "basket"}
		default:
			d.Condition = fmt.Sprintf(`purchase.store == "nowhere-%d" && purchase.lines.exists(l, l.sku == "X-%d")`, i, i)
			d.Award = &ledgerv1.Award{Kind: "multiplier", Rate: "2", Per: "line", On: "matching_lines"}
		}
		if _, err := program.CreateRule(ctx, &ledgerv1.CreateRuleRequest{Definition: d, Activate: true}); err != nil {
			return fmt.Errorf("seed rule %d: %w", i, err)
		}
	}
	return nil
}

// rulePoints is what the seeded rules add to a purchase of a member.
func rulePoints(p *posv1.PurchaseRecorded, rules int) int64 {
	m := min(rules, matchingRules)
	perLine, perBasket := int64(min(m, matchingRules/2)), int64(max(m-matchingRules/2, 0))
	var units int64
	for _, l := range p.GetLines() {
		if l.GetAmountMinor() > 0 {
			units += int64(l.GetQuantity())
		}
	}
	return perLine*units + 2*perBasket
}
