package service_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/ledger/service"
)

// TestLedgerInvariantsAfterAMixedRun drives purchases (some published twice), returns
// (some before their purchase, some over the cap), holds captured, voided and expired,
// redemptions and survey bonuses through the ledger at once, then checks the ledger's
// invariants on what it stored.
func TestLedgerInvariantsAfterAMixedRun(t *testing.T) {
	e := started(t, func(c *service.Config) { c.Base.DBMaxConns = 8 })
	ctx := testkit.Ctx(t)
	rng := rand.New(rand.NewPCG(7, 11))

	members := make([]string, 6)
	for i := range members {
		members[i] = e.enroll(fmt.Sprintf("Member%d", i))
	}
	pick := func() string {
		switch rng.IntN(10) {
		case 0:
			return "" // anonymous
		case 1:
			return uuid.NewString() // not enrolled
		}
		return members[rng.IntN(len(members))]
	}
	pending := map[string]string{} // event id -> consumer
	type sale struct {
		tx, member string
		total      int64
	}
	var sales []sale
	for i := range 150 {
		s := sale{tx: fmt.Sprintf("T%03d", i), member: pick(), total: int64(rng.IntN(20000))}
		sales = append(sales, s)
	}
	// Returns, some of them published before their purchase.
	var returns []*ledgerReturn
	for i := range 50 {
		s := sales[rng.IntN(len(sales))]
		returns = append(returns, &ledgerReturn{id: fmt.Sprintf("R%03d", i), sale: s.tx, member: s.member, total: int64(rng.IntN(15000))})
	}
	for _, r := range returns[:10] {
		ev := posReturn("S1", r.id, r.sale, r.member, r.total)
		e.publishReturn(ev)
		pending[ev.GetEventId()] = service.ConsumerPOS
	}
	for i, s := range sales {
		p := purchase("S1", s.tx, s.member, s.total)
		e.publishPurchase(p)
		pending[p.GetEventId()] = service.ConsumerPOS
		if i%7 == 0 { // the POS publishes it again, with a new event id
			again := purchase("S1", s.tx, s.member, s.total)
			e.publishPurchase(again)
			pending[again.GetEventId()] = service.ConsumerPOS
		}
	}
	// Survey bonuses, one response published twice.
	for i := range 12 {
		r := response(fmt.Sprintf("resp-%d", i%10), members[i%len(members)])
		id := uuid.NewString()
		e.send(id, r)
		pending[id] = service.ConsumerSurvey
	}
	// Holds while purchases and returns are still flowing: some captured over gRPC,
	// some through redemptions, some voided, some left to expire.
	time.Sleep(300 * time.Millisecond)
	c := e.ledger("service")
	for i, m := range members {
		for j := range 4 {
			ttl := time.Hour
			if j == 3 {
				ttl = 200 * time.Millisecond
			}
			h, err := c.PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{
				IdempotencyKey: fmt.Sprintf("hold-%d-%d", i, j), MemberId: m, Points: int64(1 + rng.IntN(15)), Ttl: durationpb.New(ttl),
			})
			if err != nil {
				continue // INSUFFICIENT_POINTS is part of the run
			}
			id := h.GetHold().GetHoldId()
			switch j {
			case 0:
				if _, err := c.CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: id}); err != nil {
					t.Fatal(err)
				}
			case 1:
				ev := uuid.NewString()
				e.send(ev, &rewardsv1.RedemptionCompleted{RedemptionId: uuid.NewString(), HoldId: id})
				pending[ev] = service.ConsumerRewards
			case 2:
				ev := uuid.NewString()
				e.send(ev, &rewardsv1.RedemptionCancelled{RedemptionId: uuid.NewString(), HoldId: id})
				pending[ev] = service.ConsumerRewards
			}
		}
	}
	// A member who spends most of a purchase's points, then returns it: a shortfall.
	spender := e.enroll("Spender")
	big := purchase("S1", "T-big", spender, 10000)
	e.publishPurchase(big)
	pending[big.GetEventId()] = service.ConsumerPOS
	e.waitAvailable(spender, 100)
	spent, err := c.PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-spender", MemberId: spender, Points: 90})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: spent.GetHold().GetHoldId()}); err != nil {
		t.Fatal(err)
	}
	returns = append(returns, &ledgerReturn{id: "R-big", sale: "T-big", member: spender, total: 10000})
	for _, r := range returns[10:] {
		ev := posReturn("S1", r.id, r.sale, r.member, r.total)
		e.publishReturn(ev)
		pending[ev.GetEventId()] = service.ConsumerPOS
	}

	testkit.Eventually(t, 30*time.Second, "every event handled", func() bool {
		for id, consumer := range pending {
			if e.db.Count(`SELECT count(*) FROM inbox WHERE consumer = $1 AND event_id = $2`, consumer, id) == 0 {
				return false
			}
			delete(pending, id)
		}
		return true
	})
	testkit.Eventually(t, 10*time.Second, "the short holds to expire", func() bool {
		return e.db.Count(`SELECT count(*) FROM holds WHERE status = 'placed' AND expires_at < now() + interval '10 minutes'`) == 0
	})
	if n := e.db.Count(`SELECT count(*) FROM dead_letters`); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	checkInvariants(t, e)

	// And the run did exercise what it claims to.
	for what, query := range map[string]string{
		"credits":             `SELECT count(*) FROM transactions WHERE kind = 'credit' AND reason = 'purchase'`,
		"survey bonuses":      `SELECT count(*) FROM transactions WHERE reason = 'survey_bonus'`,
		"return debits":       `SELECT count(*) FROM transactions WHERE kind = 'debit'`,
		"capped returns":      `SELECT count(*) FROM returns r JOIN purchases p ON p.store_id = r.store_id AND p.transaction_id = r.original_transaction_id WHERE r.points < r.total_minor / 100`,
		"shortfalls":          `SELECT count(*) FROM returns WHERE shortfall > 0`,
		"captures":            `SELECT count(*) FROM holds WHERE status = 'captured'`,
		"voids":               `SELECT count(*) FROM holds WHERE status = 'voided'`,
		"expiries":            `SELECT count(*) FROM holds WHERE status = 'expired'`,
		"unmatched purchases": `SELECT count(*) FROM unmatched_purchases`,
	} {
		if e.db.Count(query) == 0 {
			t.Errorf("the run made no %s", what)
		}
	}
	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE reason = 'survey_bonus'`); n != 10 {
		t.Errorf("%d survey bonuses, want 10 (one per response)", n)
	}
	if got, want := e.db.Count(`SELECT count(*) FROM transactions WHERE reason = 'purchase'`),
		e.db.Count(`SELECT count(*) FROM purchases WHERE points > 0`); got != want {
		t.Errorf("%d purchase credits for %d purchases that earned points", got, want)
	}
}

type ledgerReturn struct {
	id, sale, member string
	total            int64
}

// checkInvariants checks the ledger's invariants on the database of e, and that points
// were issued at all.
func checkInvariants(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	assertInvariants(t, e.db)
	var issued int64
	if err := e.db.QueryRow(ctx, `SELECT balance FROM program_balances WHERE account = 'program:issued'`).Scan(&issued); err != nil {
		t.Fatal(err)
	}
	if issued >= 0 {
		t.Errorf("program:issued is %d: it is where points come from, so it is negative once any are credited", issued)
	}
}

// invariant is a property the ledger's stored state keeps at every commit. Query counts
// the rows that break it: 0 when it holds.
type invariant struct {
	Name  string
	Query string
}

// ledgerInvariants are checked by assertInvariants: after the mixed run
// (TestLedgerInvariantsAfterAMixedRun), after every step of the property-based runs
// (TestLedgerProperties) and wherever a test calls checkInvariants.
//
// To add a check (lots, debt, tiers, budgets...), append an invariant whose query counts
// the offending rows, e.g.
//
//	{"lots add up to the available balance", `SELECT count(*) FROM accounts a
//		WHERE a.name NOT LIKE '%:%:%' AND a.member_id IS NOT NULL AND a.balance <>
//		(SELECT COALESCE(sum(l.remaining), 0) FROM lots l WHERE l.member_id = a.member_id)`},
//
// A check that SQL cannot say goes in a Go function appended to ledgerChecks.
var ledgerInvariants = []invariant{
	{"the balances of all accounts, from their postings, add up to zero", `
		SELECT count(*) FROM (SELECT sum(balance) AS s FROM account_balances) x WHERE s <> 0`},
	{"no member account below zero (stored)", `
		SELECT count(*) FROM accounts WHERE member_id IS NOT NULL AND balance < 0`},
	{"no member account below zero (from postings)", `
		SELECT count(*) FROM account_balances WHERE account LIKE 'member:%' AND balance < 0`},
	{"every stored member balance equals the sum of its postings", `
		SELECT count(*) FROM accounts a LEFT JOIN account_balances b ON b.account = a.name
		WHERE a.member_id IS NOT NULL AND a.balance <> COALESCE(b.balance, 0)`},
	{"one transaction per idempotency key", `
		SELECT count(*) FROM (SELECT idempotency_key FROM transactions GROUP BY 1 HAVING count(*) > 1) x`},
	{"every transaction has postings", `
		SELECT count(*) FROM transactions t WHERE NOT EXISTS (SELECT FROM postings p WHERE p.transaction_id = t.id)`},
	{"every posting belongs to a transaction", `
		SELECT count(*) FROM postings p WHERE NOT EXISTS (SELECT FROM transactions t WHERE t.id = p.transaction_id)`},
	{"every posting names accounts that exist", `
		SELECT count(*) FROM postings p WHERE NOT EXISTS (SELECT FROM accounts a WHERE a.name = p.source)
		OR NOT EXISTS (SELECT FROM accounts a WHERE a.name = p.destination)`},
	// ListTransactions' running balance reads a member's postings through the
	// transactions of that member.
	{"every posting on a member's account is in a transaction of that member", `
		SELECT count(*) FROM postings p JOIN transactions t ON t.id = p.transaction_id,
			unnest(ARRAY[p.source, p.destination]) AS acct
		WHERE acct LIKE 'member:%' AND split_part(acct, ':', 2) IS DISTINCT FROM t.member_id::text`},
	{"programme accounts keep no stored balance", `
		SELECT count(*) FROM accounts WHERE name LIKE 'program:%' AND balance IS NOT NULL`},
	{"what points purchases credited equals what their credit transactions moved", `
		SELECT count(*) FROM purchases pu JOIN postings po ON po.transaction_id = pu.ledger_tx_id WHERE po.amount <> pu.points`},
	{"a return never takes back more than its purchase credited", `
		SELECT count(*) FROM purchases WHERE points_returned > points
		AND NOT EXISTS (SELECT FROM returns r WHERE r.orphan AND r.store_id = purchases.store_id AND r.original_transaction_id = purchases.transaction_id)`},
	{"the returns of a purchase took back what the purchase records", `
		SELECT count(*) FROM purchases p WHERE p.points_returned <> (SELECT COALESCE(sum(r.points), 0) FROM returns r
			WHERE r.store_id = p.store_id AND r.original_transaction_id = p.transaction_id)`},
	// (An erased member's return debits nothing and records no shortfall.)
	{"a return debits at most what it called for, the rest being its shortfall", `
		SELECT count(*) FROM returns WHERE debited + shortfall > points OR debited < 0 OR shortfall < 0
			OR (debited + shortfall < points AND NOT EXISTS (SELECT FROM members m WHERE m.id = returns.member_id AND m.erased_at IS NOT NULL))`},
	{"held points equal the open holds", `
		SELECT count(*) FROM accounts a WHERE a.name LIKE '%:hold' AND a.balance <>
		(SELECT COALESCE(sum(points), 0) FROM holds h WHERE h.status = 'placed' AND 'member:' || h.member_id || ':hold' = a.name)`},
	{"each adjustment moved its points between the member and program:adjustments", `
		SELECT count(*) FROM adjustments a LEFT JOIN postings p ON p.transaction_id = a.id
		WHERE p.transaction_id IS NULL OR p.amount <> a.points
			OR (a.direction = 'credit' AND (p.source, p.destination) <> ('program:adjustments', 'member:' || a.member_id))
			OR (a.direction = 'debit' AND (p.source, p.destination) <> ('member:' || a.member_id, 'program:adjustments'))`},
	{"each booked goodwill grant moved its points from program:goodwill to the member, once", `
		SELECT count(*) FROM goodwill_grants g LEFT JOIN postings p ON p.transaction_id = g.transaction_id
		WHERE g.outcome = 'booked' AND (p.transaction_id IS NULL OR p.amount <> g.points
			OR (p.source, p.destination) <> ('program:goodwill', 'member:' || g.member_id))`},
	{"every goodwill transaction is a booked grant", `
		SELECT count(*) FROM transactions t WHERE t.reason = 'goodwill'
		AND NOT EXISTS (SELECT FROM goodwill_grants g WHERE g.transaction_id = t.id AND g.outcome = 'booked')`},
	{"a month's goodwill budget used is what its grants booked", `
		SELECT count(*) FROM goodwill_budgets b WHERE b.used <> (SELECT COALESCE(sum(points), 0) FROM goodwill_grants g
			WHERE g.month = b.month AND g.outcome = 'booked')`},
	{"each adjustment is in the audit log with its balance before and after", `
		SELECT count(*) FROM adjustments a WHERE NOT EXISTS (SELECT FROM audit_log l
			WHERE l.action = 'points.adjust' AND l.object_id = a.member_id::text AND l.after->'adjustment'->>'id' = a.id::text
			AND (l.before->>'available')::int8 = a.balance_before AND (l.after->>'available')::int8 = a.balance_after)`},
}

// ledgerChecks are invariants written in Go: each returns what it found broken ("" when
// all holds). Add one for a property SQL alone cannot say.
var ledgerChecks []func(ctx context.Context, db querier) (string, error)

// querier is a pool (testkit.DB) or a connection on the ledger's schema.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// failer is a *testing.T or a *rapid.T.
type failer interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// invariantViolations checks every invariant on db and describes those broken.
func invariantViolations(ctx context.Context, db querier) ([]string, error) {
	var broken []string
	for _, inv := range slices.Concat(ledgerInvariants, lotInvariants, earningInvariants) {
		var bad int64
		if err := db.QueryRow(ctx, inv.Query).Scan(&bad); err != nil {
			return nil, fmt.Errorf("%s: %w", inv.Name, err)
		}
		if bad != 0 {
			broken = append(broken, fmt.Sprintf("%s (%d rows)", inv.Name, bad))
		}
	}
	for _, check := range ledgerChecks {
		msg, err := check(ctx, db)
		if err != nil {
			return nil, err
		}
		if msg != "" {
			broken = append(broken, msg)
		}
	}
	return broken, nil
}

// assertInvariants fails t for every invariant broken on db.
func assertInvariants(t failer, db querier) {
	t.Helper()
	broken, err := invariantViolations(context.Background(), db)
	if err != nil {
		t.Fatalf("checking invariants: %v", err)
	}
	for _, b := range broken {
		t.Errorf("invariant broken: %s", b)
	}
}
