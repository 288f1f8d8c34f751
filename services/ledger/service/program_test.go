package service_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/services/ledger/service"
)

func (e *env) program(role string) ledgerv1.ProgramServiceClient {
	return ledgerv1.NewProgramServiceClient(e.Conn(e.cur.Service.GRPCAddr(), role))
}

// coffeeBasket is a Berlin purchase: a coffee at 4.99 and bread at 10.00.
func coffeeBasket(store, txID, memberID string) *posv1.PurchaseRecorded {
	return &posv1.PurchaseRecorded{
		EventId: uuid.NewString(), StoreId: store, TransactionId: txID, MemberId: memberID,
		OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 1499, Channel: commonv1.Channel_CHANNEL_STORE,
		Lines: []*posv1.Line{
			{Sku: "COF-1", Category: "coffee", Quantity: 1, AmountMinor: 499},
			{Sku: "BRD-1", Category: "bakery", Quantity: 2, AmountMinor: 1000},
		},
	}
}

func doubleCoffee(campaignID string) *ledgerv1.RuleDefinition {
	return &ledgerv1.RuleDefinition{
		Name: "double points on coffee for gold members", CampaignId: campaignID, Trigger: "purchase",
		Condition:  `member.tier == "gold" && purchase.store.startsWith("berlin") && "vip" in member.tags && member.attributes["city"] == "Berlin"`,
		LineFilter: `line.category == "coffee"`,
		Award:      &ledgerv1.Award{Kind: "multiplier", Rate: "2", Per: "line", On: "matching_lines"},
		Stacking:   "additive", Caps: &ledgerv1.Caps{PerCampaign: 500},
	}
}

func fieldViolation(t *testing.T, err error) (field, desc string) {
	t.Helper()
	testkit.WantCode(t, err, codes.InvalidArgument)
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetField(), br.GetFieldViolations()[0].GetDescription()
		}
	}
	t.Fatalf("no field violation in %v", err)
	return "", ""
}

func TestRulesCampaignsAndExplanations(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	mkt := e.program("marketing")

	camp, err := mkt.CreateCampaign(ctx, &ledgerv1.CreateCampaignRequest{Definition: &ledgerv1.CampaignDefinition{
		Name: "coffee week", Stores: []string{"berlin-1"}, Channels: []string{"store"}, Active: true, BudgetPoints: 2_000_000,
	}})
	if err != nil {
		t.Fatal(err)
	}
	campaignID := camp.GetCampaign().GetCampaignId()

	// A condition that does not compile is refused, naming the field and the position.
	bad := doubleCoffee(campaignID)
	bad.Condition = "member.tier == \"gold\" &&\n  purchase.nope"
	_, err = mkt.CreateRule(ctx, &ledgerv1.CreateRuleRequest{Definition: bad})
	if field, desc := fieldViolation(t, err); field != "definition.condition" || !strings.Contains(desc, "line 2, column 11") {
		t.Errorf("bad condition: %s: %s", field, desc)
	}
	bad = doubleCoffee(campaignID)
	bad.LineFilter = `line.amount + 1.0`
	_, err = mkt.CreateRule(ctx, &ledgerv1.CreateRuleRequest{Definition: bad})
	if field, desc := fieldViolation(t, err); field != "definition.line_filter" || !strings.Contains(desc, "want bool") {
		t.Errorf("non-bool line filter: %s: %s", field, desc)
	}
	bad = doubleCoffee(uuid.NewString())
	_, err = mkt.CreateRule(ctx, &ledgerv1.CreateRuleRequest{Definition: bad})
	if field, _ := fieldViolation(t, err); field != "definition.campaign_id" {
		t.Errorf("unknown campaign: %s", field)
	}
	// Tills and auditors do not manage rules.
	_, err = e.program("pos").CreateRule(ctx, &ledgerv1.CreateRuleRequest{Definition: doubleCoffee(campaignID)})
	testkit.WantCode(t, err, codes.PermissionDenied)
	_, err = e.program("auditor").CreateRule(ctx, &ledgerv1.CreateRuleRequest{Definition: doubleCoffee(campaignID)})
	testkit.WantCode(t, err, codes.PermissionDenied)

	created, err := mkt.CreateRule(ctx, &ledgerv1.CreateRuleRequest{Definition: doubleCoffee(campaignID), Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	ruleID := created.GetRule().GetRuleId()
	if created.GetRule().GetVersion() != 1 || created.GetRule().GetState() != "active" {
		t.Fatalf("created %v", created.GetRule())
	}

	gold := e.enroll("Gold")
	standard := e.enroll("Standard")
	// Tier and profile as the tiers and members areas set them; a non-string attribute
	// (against the contract) must not block the member's purchases.
	if _, err := e.db.Exec(ctx, `UPDATE members SET tier = 'gold', tags = '{vip}', attributes = '{"city": "Berlin", "visits": 3}'
		WHERE id = $1`, gold); err != nil {
		t.Fatal(err)
	}
	e.publishPurchase(coffeeBasket("berlin-1", "T1", gold))
	e.publishPurchase(coffeeBasket("berlin-1", "T1s", standard))
	// Base floor(14.99) = 14, and one more base on the coffee: floor(4.99) = 4.
	e.waitAvailable(gold, 18)
	e.waitAvailable(standard, 14)

	var txID string
	if err := e.db.QueryRow(ctx, `SELECT ledger_tx_id::text FROM purchases WHERE transaction_id = 'T1'`).Scan(&txID); err != nil {
		t.Fatal(err)
	}
	x, err := e.program("service_agent").ExplainTransaction(ctx, &ledgerv1.ExplainTransactionRequest{TransactionId: txID})
	if err != nil {
		t.Fatal(err)
	}
	parts := x.GetExplanation().GetParts()
	if x.GetExplanation().GetTotalPoints() != 18 || len(parts) != 2 || x.GetReference() != "berlin-1/T1" {
		t.Fatalf("explanation %v", x)
	}
	if p := parts[1]; p.GetRuleId() != ruleID || p.GetVersion() != 1 || p.GetPoints() != 4 ||
		len(p.GetMatchedLines()) != 1 || p.GetMatchedLines()[0] != 0 || p.GetCampaignId() != campaignID {
		t.Errorf("rule part %v", p)
	}
	if p := parts[0]; p.GetRuleId() != "base" || p.GetPoints() != 14 {
		t.Errorf("base part %v", p)
	}
	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE reference = 'berlin-1/T1'`); n != 1 {
		t.Errorf("%d ledger transactions for one purchase, want one", n)
	}

	// The simulation explains the same without booking; a draft is tried on top.
	sim := &ledgerv1.SimulatePurchaseRequest{MemberId: gold, StoreId: "berlin-1", Channel: "store", Currency: "EUR", TotalMinor: 1499,
		Lines: []*ledgerv1.SimulatedLine{
			{Sku: "COF-1", Category: "coffee", Quantity: 1, AmountMinor: 499},
			{Sku: "BRD-1", Category: "bakery", Quantity: 2, AmountMinor: 1000},
		}}
	s, err := mkt.SimulatePurchase(ctx, sim)
	if err != nil || s.GetExplanation().GetTotalPoints() != 18 {
		t.Fatalf("simulation %v, %v", s, err)
	}
	sim.Draft = &ledgerv1.RuleDefinition{Name: "bread bonus", Trigger: "purchase", LineFilter: `line.category == "bakery"`,
		Award: &ledgerv1.Award{Kind: "fixed_bonus", Points: 7, Per: "line", On: "matching_lines"}, Stacking: "additive"}
	if s, err = mkt.SimulatePurchase(ctx, sim); err != nil || s.GetExplanation().GetTotalPoints() != 18+14 {
		t.Fatalf("simulation with a draft %v, %v", s, err)
	}
	sim.Draft.LineFilter = "line.category =="
	_, err = mkt.SimulatePurchase(ctx, sim)
	if field, desc := fieldViolation(t, err); field != "draft.line_filter" || !strings.Contains(desc, "line 1, column") {
		t.Errorf("bad draft: %s: %s", field, desc)
	}
	if n := e.db.Count(`SELECT count(*) FROM transactions`); n != 2 {
		t.Errorf("%d transactions after simulations, want the 2 credits", n)
	}

	// A return of the coffee takes back what the coffee earned: its base share and the
	// rule's 4, not a flat rate on its refund.
	e.publishReturn(&posv1.ReturnRecorded{EventId: uuid.NewString(), StoreId: "berlin-1", ReturnId: "R1", OriginalTransactionId: "T1",
		MemberId: gold, OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 499,
		Lines: []*posv1.Line{{Sku: "COF-1", Quantity: 1, AmountMinor: 499}}})
	// The base's 14 spread over 499:1000 gives the coffee 5; with the rule's 4, 9.
	e.waitAvailable(gold, 18-9)

	// An update is a new version; the old one stays readable.
	upd := doubleCoffee(campaignID)
	upd.Award.Rate = "3"
	u, err := mkt.UpdateRule(ctx, &ledgerv1.UpdateRuleRequest{RuleId: ruleID, Definition: upd, ExpectedVersion: 1})
	if err != nil || u.GetRule().GetVersion() != 2 || u.GetRule().GetDefinition().GetAward().GetRate() != "3" {
		t.Fatalf("update %v, %v", u, err)
	}
	_, err = mkt.UpdateRule(ctx, &ledgerv1.UpdateRuleRequest{RuleId: ruleID, Definition: upd, ExpectedVersion: 1})
	testkit.WantReason(t, err, "VERSION_CONFLICT")
	v1, err := e.program("auditor").GetRule(ctx, &ledgerv1.GetRuleRequest{RuleId: ruleID, Version: 1})
	if err != nil || v1.GetRule().GetDefinition().GetAward().GetRate() != "2" {
		t.Fatalf("version 1: %v, %v", v1, err)
	}
	// The live rules follow at once: the next purchase earns by version 2 (2 more bases
	// on the coffee: floor(9.98) = 9).
	e.publishPurchase(coffeeBasket("berlin-1", "T2", gold))
	e.waitAvailable(gold, 9+14+9)
	if _, err := mkt.DeactivateRule(ctx, &ledgerv1.DeactivateRuleRequest{RuleId: ruleID}); err != nil {
		t.Fatal(err)
	}
	e.publishPurchase(coffeeBasket("berlin-1", "T3", gold))
	e.waitAvailable(gold, 9+14+9+14)

	list, err := mkt.ListRules(ctx, &ledgerv1.ListRulesRequest{PageSize: 10})
	if err != nil || len(list.GetRules()) != 1 || list.GetRules()[0].GetState() != "inactive" {
		t.Fatalf("list %v, %v", list, err)
	}
	c, err := mkt.GetCampaign(ctx, &ledgerv1.GetCampaignRequest{CampaignId: campaignID})
	if err != nil || c.GetCampaign().GetSpentPoints() != 4+9 {
		t.Fatalf("campaign %v, %v: want 13 points spent", c, err)
	}
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE object_kind IN ('rule', 'campaign')`); n != 4 {
		t.Errorf("%d audit entries, want 4 (create campaign, create, update, deactivate rule)", n)
	}
}

// The budget is spent exactly and its exhaustion announced once (concurrent batches:
// internal/app's TestConcurrentBatchesNeverOverspendABudget).
func TestCampaignBudgetSpentExactlyAndAnnouncedOnce(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	mkt := e.program("marketing")
	camp, err := mkt.CreateCampaign(ctx, &ledgerv1.CreateCampaignRequest{Definition: &ledgerv1.CampaignDefinition{
		Name: "first come", Active: true, BudgetPoints: 1000,
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := camp.GetCampaign().GetCampaignId()
	if _, err := mkt.CreateRule(ctx, &ledgerv1.CreateRuleRequest{Activate: true, Definition: &ledgerv1.RuleDefinition{
		Name: "welcome bonus", CampaignId: id, Trigger: "purchase", Stacking: "additive",
		Award: &ledgerv1.Award{Kind: "fixed_bonus", Points: 70, Per: "basket", On: "basket"},
	}}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	members := make([]string, n)
	for i := range members {
		members[i] = e.enroll("M" + uuid.NewString()[:8])
	}
	var wg sync.WaitGroup
	sent := make([]testkit.Sent, n)
	for i, m := range members {
		wg.Go(func() { sent[i] = e.publishPurchase(purchase("S", fmt.Sprintf("T%d", i), m, 100)) })
	}
	wg.Wait()
	e.WaitHandled(service.ConsumerPOS, sent...)
	// 1000 / 70 = 14 full bonuses and one of 20; the rest get the base only.
	if got := e.db.Count(`SELECT coalesce(sum((p->>'points')::int8), 0) FROM credit_breakdowns, json_array_elements(parts) p WHERE p->>'campaign_id' = $1`, id); got != 1000 {
		t.Errorf("the campaign awarded %d, want its budget of 1000 exactly", got)
	}
	if got := e.db.Count(`SELECT spent_points FROM campaigns WHERE id = $1`, id); got != 1000 {
		t.Errorf("spent %d", got)
	}
	if got := e.db.Count(`SELECT coalesce(sum(balance), 0) FROM accounts WHERE member_id IS NOT NULL`); got != n*1+1000 {
		t.Errorf("members hold %d points, want %d", got, n+1000)
	}
	testkit.Eventually(t, 10*time.Second, "one budget_exhausted event", func() bool {
		return len(published[*ledgerv1.CampaignBudgetExhausted](e)) == 1
	})
	time.Sleep(200 * time.Millisecond)
	if evs := published[*ledgerv1.CampaignBudgetExhausted](e); len(evs) != 1 || evs[0].GetCampaignId() != id {
		t.Errorf("budget_exhausted events %v, want one", evs)
	}
}

func TestCustomEventsEarnOncePerPeriod(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	mkt := e.program("marketing")
	if _, err := mkt.CreateRule(ctx, &ledgerv1.CreateRuleRequest{Activate: true, Definition: &ledgerv1.RuleDefinition{
		Name: "five-star review", Trigger: "custom:review_written", Condition: `event.attributes["stars"] == "5"`,
		EventLimit: "month", Stacking: "additive",
		Award: &ledgerv1.Award{Kind: "fixed_bonus", Points: 25, Per: "basket", On: "basket"},
	}}); err != nil {
		t.Fatal(err)
	}
	// A custom rule must be a fixed bonus: an event has no amount.
	_, err := mkt.CreateRule(ctx, &ledgerv1.CreateRuleRequest{Definition: &ledgerv1.RuleDefinition{
		Name: "bad", Trigger: "custom:app_installed", Stacking: "additive",
		Award: &ledgerv1.Award{Kind: "points_per_unit", Rate: "1", Per: "basket", On: "basket"},
	}})
	if field, _ := fieldViolation(t, err); field != "definition.award.kind" {
		t.Errorf("custom points per unit: %s", field)
	}
	m := e.enroll("Reviewer")
	review := func(stars string) testkit.Sent {
		return e.send("", &posv1.CustomEventRecorded{EventId: uuid.NewString(), StoreId: "web", MemberId: m, Type: "review_written",
			Attributes: map[string]string{"stars": stars}, OccurredAt: timestamppb.Now()})
	}
	first := review("5")
	e.waitAvailable(m, 25)
	second, third := review("5"), review("4")
	e.WaitHandled(service.ConsumerPOS, first, second, third)
	if got := e.balance(m).GetAvailable(); got != 25 {
		t.Errorf("balance %d: a second review the same month, or a 4-star one, earned", got)
	}
	var reason string
	if err := e.db.QueryRow(ctx, `SELECT reason FROM transactions WHERE member_id = $1`, m).Scan(&reason); err != nil || reason != "custom_event" {
		t.Errorf("reason %q, %v", reason, err)
	}
	testkit.Eventually(t, 10*time.Second, "points.credited of the custom event", func() bool {
		for _, ev := range published[*ledgerv1.PointsCredited](e) {
			if ev.GetMemberId() == m && ev.GetReason() == ledgerv1.PointsReason_POINTS_REASON_CUSTOM_EVENT && ev.GetPoints() == 25 {
				return true
			}
		}
		return false
	})
}

func TestListRulesAndCampaignsPage(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	mkt := e.program("marketing")
	for i := range 3 {
		d := &ledgerv1.RuleDefinition{Name: fmt.Sprintf("draft %d", i), Trigger: "purchase", Stacking: "additive",
			Award: &ledgerv1.Award{Kind: "fixed_bonus", Points: 1, Per: "basket", On: "basket"}}
		if _, err := mkt.CreateRule(ctx, &ledgerv1.CreateRuleRequest{Definition: d}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := mkt.ListRules(ctx, &ledgerv1.ListRulesRequest{PageSize: 2})
	if err != nil || len(first.GetRules()) != 2 || first.GetNextPageToken() == "" || first.GetRules()[0].GetState() != "draft" {
		t.Fatalf("first page %v, %v", first, err)
	}
	second, err := mkt.ListRules(ctx, &ledgerv1.ListRulesRequest{PageSize: 2, PageToken: first.GetNextPageToken()})
	if err != nil || len(second.GetRules()) != 1 || second.GetNextPageToken() != "" {
		t.Fatalf("second page %v, %v", second, err)
	}
	_, err = mkt.ListRules(ctx, &ledgerv1.ListRulesRequest{PageToken: "not-a-token"})
	if field, _ := fieldViolation(t, err); field != "page_token" {
		t.Errorf("bad token: %s", field)
	}
	// Drafts earn nothing, and a simulation of the live rules does not see them.
	m := e.enroll("Drafty")
	s, err := mkt.SimulatePurchase(ctx, &ledgerv1.SimulatePurchaseRequest{MemberId: m, StoreId: "S1", Currency: "EUR", TotalMinor: 1000})
	if err != nil || s.GetExplanation().GetTotalPoints() != 10 || len(s.GetExplanation().GetParts()) != 1 {
		t.Fatalf("simulation %v, %v: want the base alone", s, err)
	}
	if _, err := mkt.CreateCampaign(ctx, &ledgerv1.CreateCampaignRequest{Definition: &ledgerv1.CampaignDefinition{Name: "c"}}); err != nil {
		t.Fatal(err)
	}
	cs, err := e.program("auditor").ListCampaigns(ctx, &ledgerv1.ListCampaignsRequest{})
	if err != nil || len(cs.GetCampaigns()) != 1 {
		t.Fatalf("campaigns %v, %v", cs, err)
	}
	_, err = e.program("auditor").SimulatePurchase(ctx, &ledgerv1.SimulatePurchaseRequest{MemberId: uuid.NewString(), StoreId: "S1", Currency: "EUR"})
	testkit.WantCode(t, err, codes.NotFound)
}
