package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/services/ledger/internal/adapters/postgres"
	"github.com/treue/treue/services/ledger/internal/adapters/postgres/pgtest"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/convert"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
	"github.com/treue/treue/services/ledger/migrations"
)

// Many batches at once, each of other members (so that only the campaign's budget is
// shared), race for the last points of a budget: together they award it exactly, never
// a point more, and announce its exhaustion once.
// newApp returns the ledger's application on a fresh, migrated schema, with the clock now.
func newEarningApp(t *testing.T, now func() time.Time) (*app.Application, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testkit.Database(t), "ledger", 12)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pg.Migrate(ctx, pool, "ledger", slog.New(slog.DiscardHandler), bus.Migrations(),
		pg.Migration{Name: "ledger", FS: migrations.FS}); err != nil {
		t.Fatal(err)
	}
	rules, err := domain.NewPOSRules([]domain.Tender{{Currency: "EUR", PointsPerUnit: domain.MustRate(1, 1), MaxMinor: 10_000_000}}, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	outbox, err := bus.NewOutbox(convert.Produces...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Deps{
		Store: postgres.NewStore(pg.NewDB(pool, nil), outbox), Config: app.Config{POS: rules, HoldTTL: time.Minute, ClaimWindow: 365 * 24 * time.Hour},
		NewID: func() string { return uuid.Must(uuid.NewV7()).String() }, Now: now, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, pool
}

func TestConcurrentBatchesNeverOverspendABudget(t *testing.T) {
	ctx := context.Background()
	a, pool := newEarningApp(t, time.Now)
	actor := domain.Actor{Name: "test"}
	c, err := a.Commands.Program.CreateCampaign(ctx, actor, earn.Campaign{Name: "race", Active: true, Budget: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commands.Program.CreateRule(ctx, actor, earn.RuleVersion{Name: "bonus", CampaignID: c.ID,
		Trigger: earn.TriggerPurchase, Stacking: earn.Additive,
		Award: earn.Award{Kind: earn.AwardFixedBonus, Points: 30, Per: earn.PerBasket, On: earn.TargetBasket}}, true); err != nil {
		t.Fatal(err)
	}
	const batches, perBatch = 12, 5 // 60 purchases of 30 points for a budget of 1000
	members := pgtest.SeedMembers(t, pool, batches*perBatch)
	var wg sync.WaitGroup
	errs := make(chan error, batches)
	for b := range batches {
		wg.Go(func() {
			ps := make([]domain.Purchase, perBatch)
			for i := range ps {
				m := members[b*perBatch+i]
				ps[i] = domain.Purchase{Key: domain.PurchaseKey{StoreID: "S", TransactionID: fmt.Sprintf("T%d-%d", b, i)},
					EventID: uuid.NewString(), MemberRef: m, OccurredAt: time.Now().Add(-time.Second), Currency: "EUR", TotalMinor: 100}
			}
			// A batch that lost a race (a deadlock, a serialisation failure) is retried as
			// the consumer would; none is expected.
			if _, err := a.Commands.RecordPurchases.Handle(ctx, ps); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	count := func(q string, args ...any) int64 {
		var n int64
		if err := pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(`SELECT coalesce(sum((p->>'points')::int8), 0) FROM credit_breakdowns, json_array_elements(parts) p WHERE p->>'campaign_id' = $1`, c.ID); got != 1000 {
		t.Errorf("the campaign awarded %d, want its budget of 1000", got)
	}
	if got := count(`SELECT spent_points FROM campaigns WHERE id = $1`, c.ID); got != 1000 {
		t.Errorf("spent %d, want 1000", got)
	}
	if got := count(`SELECT coalesce(sum(balance), 0) FROM accounts WHERE member_id IS NOT NULL`); got != batches*perBatch+1000 {
		t.Errorf("members hold %d, want the base %d plus the budget", got, batches*perBatch)
	}
	if got := count(`SELECT count(*) FROM outbox WHERE event_type = 'treue.ledger.v1.CampaignBudgetExhausted'`); got != 1 {
		t.Errorf("%d budget_exhausted events, want 1", got)
	}
}

// A purchase claimed late earns by the rule versions live when it happened: not a later
// version, nor a rule activated since, nor one deactivated since.
func TestLateCreditEarnsByTheRulesOfItsTime(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a, pool := newEarningApp(t, func() time.Time { return clock })
	actor := domain.Actor{Name: "test"}
	bonus := func(points int64) earn.RuleVersion {
		return earn.RuleVersion{Name: "bonus", Trigger: earn.TriggerPurchase, Stacking: earn.Additive,
			Award: earn.Award{Kind: earn.AwardFixedBonus, Points: points, Per: earn.PerBasket, On: earn.TargetBasket}}
	}
	cases := []struct {
		at   time.Time
		want int64
	}{
		{time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC), 1},      // before the rule: the base
		{time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), 1 + 10}, // version 1
		{time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC), 1 + 50}, // version 2
		{time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC), 1},      // deactivated
	}
	// Each purchase is recorded when it happens, for a card nobody holds yet.
	record := func(i int) {
		p := domain.Purchase{Key: domain.PurchaseKey{StoreID: "S", TransactionID: fmt.Sprintf("T%d", i)}, EventID: uuid.NewString(),
			MemberRef: "card:UNKNOWN42", OccurredAt: cases[i].at, Currency: "EUR", TotalMinor: 100}
		if booked, err := a.Commands.RecordPurchases.Handle(ctx, []domain.Purchase{p}); err != nil || len(booked.Refusals) > 0 {
			t.Fatalf("purchase %d: %v %v", i, err, booked.Refusals)
		}
	}
	clock = cases[0].at
	record(0)
	clock = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r, err := a.Commands.Program.CreateRule(ctx, actor, bonus(10), true) // live from March 1st
	if err != nil {
		t.Fatal(err)
	}
	clock = cases[1].at
	record(1)
	clock = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC) // April: version 2 pays 50
	if _, err := a.Commands.Program.UpdateRule(ctx, actor, r.Version.RuleID, bonus(50), 1); err != nil {
		t.Fatal(err)
	}
	clock = cases[2].at
	record(2)
	clock = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) // May: the rule ends
	if _, err := a.Commands.Program.SetRuleActive(ctx, actor, r.Version.RuleID, false); err != nil {
		t.Fatal(err)
	}
	clock = cases[3].at
	record(3)
	// Claimed at the end of May, each by the rules of its own time.
	clock = time.Date(2026, 5, 31, 12, 0, 0, 0, time.UTC)
	m := pgtest.SeedMembers(t, pool, 1)[0]
	for i, c := range cases {
		claim, err := a.Commands.ClaimPurchase.Handle(ctx, actor, domain.ClaimRequest{IdempotencyKey: fmt.Sprintf("claim-%d", i),
			MemberID: m, Key: domain.PurchaseKey{StoreID: "S", TransactionID: fmt.Sprintf("T%d", i)}, TotalMinor: 100, Channel: domain.ChannelWeb})
		if err != nil || claim.Points != c.want {
			t.Errorf("purchase of %s claimed: %d points (%v), want %d", c.at.Format(time.DateOnly), claim.Points, err, c.want)
		}
	}
}
