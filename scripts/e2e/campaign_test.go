package e2e

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	ledger "github.com/treue/treue/services/ledger/service"
)

// ledgerClock is the ledger's time in TestCampaignEndToEnd: real time moved forward.
type ledgerClock struct{ offset atomic.Int64 }

func (c *ledgerClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Set moves the clock to at (it runs on from there).
func (c *ledgerClock) Set(at time.Time) { c.offset.Store(int64(time.Until(at))) }

// A campaign through all five services: a purchase in the campaign's store with a
// matching SKU earns the bonus, pending through the return window; ExplainTransaction
// says why; a return in the window takes the coffee's points back from pending; after
// the window the rest becomes available; members hear once that it will expire, it
// expires, and reporting counts it expired.
func TestCampaignEndToEnd(t *testing.T) {
	const window = 14 * 24 * time.Hour
	clock := &ledgerClock{}
	// The expiry policy's type is the ledger's own (internal): it comes in as in production.
	t.Setenv("LEDGER_POINTS_EXPIRY", "months:1")
	sys := &system{Env: testkit.NewEnv(t), tuneLedger: func(c *ledger.Config) {
		c.Now = clock.Now
		c.Lots.ReturnWindow, c.Lots.ExpiryNotice = window, 3*24*time.Hour
		c.Lots.Interval, c.Lots.Batch = 100*time.Millisecond, 1000
	}}
	startIn(t, sys)
	ctx := context.Background()
	ledgerAPI := ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "admin"))
	program := ledgerv1.NewProgramServiceClient(sys.Conn(sys.ledger, "marketing"))
	agent := ledgerv1.NewProgramServiceClient(sys.Conn(sys.ledger, "service_agent"))
	reportAPI := reportingv1.NewReportingServiceClient(sys.Conn(sys.rept, "auditor"))

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
	// Both purchases at one moment: their points expire together, in one notice.
	at := timestamppb.Now()
	basket := func(store, tx string) *posv1.PurchaseRecorded {
		return &posv1.PurchaseRecorded{
			EventId: "", StoreId: store, TransactionId: tx, MemberId: anna, OccurredAt: at,
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
	// All of it pending: the return window is open.
	testkit.Eventually(t, 20*time.Second, "27 + 35 in Berlin and 27 in Hamburg, pending", func() bool {
		b := balance(t, ledgerAPI, anna)
		return b.GetPending() == 27+35+27 && b.GetAvailable() == 0
	})

	var txID string
	if err := sys.db.QueryRow(ctx, `SELECT ledger_tx_id::text FROM ledger.purchases WHERE transaction_id = 'T-C1'`).Scan(&txID); err != nil {
		t.Fatal(err)
	}
	x, err := agent.ExplainTransaction(ctx, &ledgerv1.ExplainTransactionRequest{TransactionId: txID})
	must(t, err)
	parts := x.GetExplanation().GetParts()
	if len(parts) != 2 || parts[0].GetPoints() != 27 || parts[1].GetRuleId() != rule.GetRule().GetRuleId() ||
		parts[1].GetPoints() != 35 || len(parts[1].GetMatchedLines()) != 1 || parts[1].GetMatchedLines()[0] != 0 {
		t.Fatalf("explanation %v", x.GetExplanation())
	}

	// The coffee comes back inside the window: the rule's 35 and the coffee's share of
	// the base (17 of 27) leave pending; nothing was available to take.
	must(t, sys.till(false).PublishReturn(ctx, &posv1.ReturnRecorded{
		EventId: "0192f0c1-2222-7000-8000-000000000003", StoreId: "berlin-01", ReturnId: "R-C1", OriginalTransactionId: "T-C1",
		MemberId: anna, OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 1798,
		Lines: []*posv1.Line{{Sku: "COF-250", Quantity: 2, AmountMinor: 1798}},
	}))
	const kept = 27 + 35 + 27 - 35 - 17
	testkit.Eventually(t, 20*time.Second, "the coffee's points taken back from pending", func() bool {
		b := balance(t, ledgerAPI, anna)
		return b.GetPending() == kept && b.GetAvailable() == 0 && b.GetDebt() == 0
	})

	// Past the window the rest becomes spendable.
	clock.Set(at.AsTime().Add(window + time.Hour))
	testkit.Eventually(t, 10*time.Second, "the points matured", func() bool {
		b := balance(t, ledgerAPI, anna)
		return b.GetAvailable() == kept && b.GetPending() == 0
	})

	// months:1 from each credit: 28 to 31 days, so the lots say when. The two
	// purchases were credited moments apart: two lots, announced and expired apart.
	var first, last time.Time
	if err := sys.db.QueryRow(ctx, `SELECT min(expires_at), max(expires_at) FROM ledger.lots WHERE member_id = $1 AND remaining > 0`,
		anna).Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	clock.Set(first.Add(-2 * 24 * time.Hour))
	notices := func() (n int, points int64) {
		for _, s := range testkit.Events[*ledgerv1.PointsExpiringSoon](sys.Env, "ledger.points.expiring_soon") {
			if s.GetMemberId() == anna {
				n, points = n+1, points+s.GetPoints()
			}
		}
		return n, points
	}
	testkit.Eventually(t, 10*time.Second, "members told the points will expire", func() bool {
		_, points := notices()
		return points >= kept
	})

	clock.Set(last.Add(time.Hour))
	testkit.Eventually(t, 10*time.Second, "the points expired", func() bool { return balance(t, ledgerAPI, anna).GetAvailable() == 0 })
	testkit.Eventually(t, 10*time.Second, "expiry debits of every lot", func() bool {
		var expired int64
		for _, d := range testkit.Events[*ledgerv1.PointsDebited](sys.Env, "ledger.points.debited") {
			if d.GetMemberId() == anna && d.GetReason() == ledgerv1.PointsReason_POINTS_REASON_EXPIRY {
				expired += d.GetPoints()
			}
		}
		return expired == kept
	})
	if n := sys.db.Count(`SELECT COALESCE(sum(amount), 0) FROM ledger.postings WHERE destination = 'program:expired'`); n != kept {
		t.Errorf("%d points posted to program:expired, want %d", n, kept)
	}

	// Reporting counts the expiry with the rest; the liability is gone.
	var sum *reportingv1.GetPointsSummaryResponse
	testkit.Eventually(t, 20*time.Second, "reporting counts the expired points", func() bool {
		sum, err = reportAPI.GetPointsSummary(ctx, &reportingv1.GetPointsSummaryRequest{})
		must(t, err)
		return sum.GetExpired() == kept
	})
	if sum.GetIssued() != 27+35+27 || sum.GetReturned() != 35+17 || sum.GetOutstanding() != 0 {
		t.Errorf("points summary %v, want 89 issued, 52 returned, %d expired, none outstanding", sum, kept)
	}

	// Each lot announced once, whatever the jobs' passes since: one event per moment of
	// expiry (lots of a member expiring at the same moment make one event; the two
	// purchases' lots share one when the ledger credited them in one batch).
	moments := sys.db.Count(`SELECT count(DISTINCT expires_at) FROM ledger.lots WHERE member_id = $1 AND NOT pending`, anna)
	if n, points := notices(); int64(n) != moments || points != kept {
		t.Errorf("%d expiring-soon events of %d points, want %d (one per moment of expiry) of %d", n, points, moments, kept)
	}
	checkLedgerInvariants(t, sys.db)
}
