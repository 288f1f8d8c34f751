package e2e

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
)

// A campaign in one store: a purchase there with a matching SKU earns the bonus,
// ExplainTransaction says why, the same purchase elsewhere earns the base only, and a
// return of the coffee takes the bonus back with the coffee's base share.
func TestCampaignEndToEnd(t *testing.T) {
	sys := start(t)
	ctx := context.Background()
	ledgerAPI := ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "admin"))
	program := ledgerv1.NewProgramServiceClient(sys.Conn(sys.ledger, "marketing"))
	agent := ledgerv1.NewProgramServiceClient(sys.Conn(sys.ledger, "service_agent"))

	camp, err := program.CreateCampaign(ctx, &ledgerv1.CreateCampaignRequest{Definition: &ledgerv1.CampaignDefinition{
		Name: "Coffee week in Berlin", Stores: []string{"berlin-01"}, Active: true, BudgetPoints: 2_000_000,
		StartsAt: timestamppb.New(time.Now().Add(-time.Hour)), EndsAt: timestamppb.New(time.Now().AddDate(0, 0, 7)),
	}})
	must(t, err)
	rule, err := program.CreateRule(ctx, &ledgerv1.CreateRuleRequest{Activate: true, Definition: &ledgerv1.RuleDefinition{
		Name: "Triple points on coffee", CampaignId: camp.GetCampaign().GetCampaignId(), Trigger: "purchase",
		LineFilter: `line.sku.startsWith("COF-")`, Stacking: "additive", Caps: &ledgerv1.Caps{PerCampaign: 500},
		Award: &ledgerv1.Award{Kind: "multiplier", Rate: "3", Per: "line", On: "matching_lines"},
	}})
	must(t, err)

	anna := enrol(t, ledgerAPI, "anna-campaign", "de")
	basket := func(store, tx string) *posv1.PurchaseRecorded {
		return &posv1.PurchaseRecorded{
			EventId: "", StoreId: store, TransactionId: tx, MemberId: anna, OccurredAt: timestamppb.Now(),
			Currency: "EUR", TotalMinor: 2798, Channel: commonv1.Channel_CHANNEL_STORE,
			Lines: []*posv1.Line{
				{Sku: "COF-250", Category: "coffee", Quantity: 2, AmountMinor: 1798},
				{Sku: "MUG-01", Quantity: 1, AmountMinor: 1000},
			},
		}
	}
	berlin, hamburg := basket("berlin-01", "T-C1"), basket("hamburg-02", "T-C2")
	berlin.EventId, hamburg.EventId = "0192f0c1-2222-7000-8000-000000000001", "0192f0c1-2222-7000-8000-000000000002"
	must(t, sys.till(false).PublishPurchase(ctx, berlin))
	must(t, sys.till(false).PublishPurchase(ctx, hamburg))
	// Base floor(27.98) = 27 each; in Berlin two more bases on the coffee: floor(17.98 * 2) = 35.
	testkit.Eventually(t, 20*time.Second, "27 + 35 in Berlin and 27 in Hamburg", func() bool {
		return balance(t, ledgerAPI, anna).Available == 27+35+27
	})

	var txID string
	if err := sys.db.QueryRow(ctx, `SELECT ledger_tx_id::text FROM ledger.purchases WHERE transaction_id = 'T-C1'`).Scan(&txID); err != nil {
		t.Fatal(err)
	}
	x, err := agent.ExplainTransaction(ctx, &ledgerv1.ExplainTransactionRequest{TransactionId: txID})
	must(t, err)
	parts := x.GetExplanation().GetParts()
	if len(parts) != 2 || parts[1].GetRuleId() != rule.GetRule().GetRuleId() || parts[1].GetPoints() != 35 ||
		len(parts[1].GetMatchedLines()) != 1 || parts[1].GetMatchedLines()[0] != 0 {
		t.Fatalf("explanation %v", x.GetExplanation())
	}

	// The coffee comes back: the rule's 35 and the coffee's share of the base (17 of 27).
	must(t, sys.till(false).PublishReturn(ctx, &posv1.ReturnRecorded{
		EventId: "0192f0c1-2222-7000-8000-000000000003", StoreId: "berlin-01", ReturnId: "R-C1", OriginalTransactionId: "T-C1",
		MemberId: anna, OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 1798,
		Lines: []*posv1.Line{{Sku: "COF-250", Quantity: 2, AmountMinor: 1798}},
	}))
	testkit.Eventually(t, 20*time.Second, "the coffee's points taken back", func() bool {
		return balance(t, ledgerAPI, anna).Available == 27+35+27-35-17
	})
	checkLedgerInvariants(t, sys.db)
}
