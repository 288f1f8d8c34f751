package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/scripts/internal/stack"
)

// demoCampaign is the demo campaign's name, by which a later run finds it.
const demoCampaign = "Coffee week in Berlin"

// demoRules sets up what marketing asks for first, so that the demo's purchases show an
// earning programme: a coffee week in Berlin (double points on coffee, at most 500 per
// member, a budget of 2 million points), a basket bonus above 50 EUR, and 100 points once
// for installing the app. It returns the ids of the campaign and the rules. On a
// database that has the campaign already, it changes nothing and returns its id.
func demoRules(ctx context.Context, s *stack.Stack) (campaignID string, ruleIDs []string, err error) {
	conn, err := s.Conn("ledger", "marketing")
	if err != nil {
		return "", nil, err
	}
	program := ledgerv1.NewProgramServiceClient(conn)
	existing, err := program.ListCampaigns(ctx, &ledgerv1.ListCampaignsRequest{PageSize: 500})
	if err != nil {
		return "", nil, fmt.Errorf("demo campaigns: %w", err)
	}
	for _, c := range existing.GetCampaigns() {
		if c.GetDefinition().GetName() == demoCampaign {
			return c.GetCampaignId(), nil, nil
		}
	}
	now := time.Now()
	camp, err := program.CreateCampaign(ctx, &ledgerv1.CreateCampaignRequest{Definition: &ledgerv1.CampaignDefinition{
		Name: demoCampaign, StartsAt: timestamppb.New(now), EndsAt: timestamppb.New(now.AddDate(0, 0, 7)),
		Stores: []string{"berlin-01"}, Channels: []string{"store"}, Active: true, BudgetPoints: 2_000_000,
	}})
	if err != nil {
		return "", nil, fmt.Errorf("demo campaign: %w", err)
	}
	campaignID = camp.GetCampaign().GetCampaignId()
	rules := []*ledgerv1.RuleDefinition{
		{
			Name: "Double points on coffee", CampaignId: campaignID, Trigger: "purchase",
			LineFilter: `line.sku.startsWith("COF-") || line.category == "coffee"`,
			Award:      &ledgerv1.Award{Kind: "multiplier", Rate: "2", Per: "line", On: "matching_lines"},
			Stacking:   "additive", Caps: &ledgerv1.Caps{PerCampaign: 500},
		},
		{
			Name: "25 points on baskets of 50 EUR or more", Trigger: "purchase", Condition: `purchase.total_minor >= 5000`,
			Award:    &ledgerv1.Award{Kind: "fixed_bonus", Points: 25, Per: "basket", On: "basket"},
			Stacking: "best_of", Group: "basket bonus", Caps: &ledgerv1.Caps{PerDay: 50},
		},
		{
			Name: "100 points for installing the app", Trigger: "custom:app_installed", EventLimit: "once",
			Award:    &ledgerv1.Award{Kind: "fixed_bonus", Points: 100, Per: "basket", On: "basket"},
			Stacking: "additive",
		},
	}
	for _, d := range rules {
		r, err := program.CreateRule(ctx, &ledgerv1.CreateRuleRequest{Definition: d, Activate: true})
		if err != nil {
			return "", nil, fmt.Errorf("demo rule %q: %w", d.GetName(), err)
		}
		ruleIDs = append(ruleIDs, r.GetRule().GetRuleId())
	}
	return campaignID, ruleIDs, nil
}
