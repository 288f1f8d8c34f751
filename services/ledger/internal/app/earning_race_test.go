package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

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

func TestMain(m *testing.M) { testkit.Main(m) }

// Many batches at once, each of other members (so that only the campaign's budget is
// shared), race for the last points of a budget: together they award it exactly, never
// a point more, and announce its exhaustion once.
func TestConcurrentBatchesNeverOverspendABudget(t *testing.T) {
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
		Store: postgres.NewStore(pg.NewDB(pool, nil), outbox), Config: app.Config{POS: rules, HoldTTL: time.Minute},
		NewID: func() string { return uuid.Must(uuid.NewV7()).String() }, Now: time.Now, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
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
	if got := count(`SELECT coalesce(sum(points), 0) FROM credit_parts WHERE campaign_id = $1`, c.ID); got != 1000 {
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
