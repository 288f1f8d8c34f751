package service_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"pgregory.net/rapid"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/services/ledger/internal/adapters/postgres"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/convert"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/migrations"
	"github.com/treue/treue/services/ledger/service"
)

// defaultPropertyChecks is how many random sequences TestLedgerProperties runs unless
// told otherwise (-rapid.checks=N or RAPID_CHECKS=N; -rapid.steps or RAPID_STEPS sets
// their average length, 30 by default): a few seconds.
const defaultPropertyChecks = 6

// TestLedgerProperties runs random sequences of enrolments, purchases (some sent twice),
// returns (some over what their purchase earned, some of purchases the ledger never saw),
// survey bonuses (some delivered twice), holds placed, retried, captured and voided
// (directly or by redemptions completed and cancelled), closed again, and expired, and
// adjustments up and down through the application on real Postgres, with a clock the test moves. After every
// step the ledger's invariants hold (assertInvariants, the same list every test checks),
// and every member's balances, and the running balance of their history, equal what a
// plain model of the programme says.
func TestLedgerProperties(t *testing.T) {
	t.Parallel()
	useDefaultChecks(defaultPropertyChecks)
	w := newPropertyWorld(t)
	rapid.Check(t, func(rt *rapid.T) { w.run(rt) })
}

// useDefaultChecks sets rapid's number of checks to n unless the command line or the
// environment chose one.
func useDefaultChecks(n int) {
	chosen := os.Getenv("RAPID_CHECKS") != ""
	flag.Visit(func(f *flag.Flag) { chosen = chosen || f.Name == "rapid.checks" })
	if !chosen {
		_ = flag.Set("rapid.checks", fmt.Sprint(n))
	}
}

// frozenClock is the application's clock, moved by the test only.
type frozenClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *frozenClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *frozenClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// propertyWorld is the ledger's application on a database of its own.
type propertyWorld struct {
	app   *app.Application
	db    *pgxpool.Pool
	clock *frozenClock
	// programAccounts are the programme's accounts as the migrations opened them.
	programAccounts []string
	// alsoReset are tables a run empties besides propertyResetTables.
	alsoReset []string
}

// propertyResetTables are emptied before every sequence (CASCADE empties the tables that
// refer to them too: accounts, holds, adjustments...), so that a sequence starts from the
// migrations' state and a failing one shrinks to the same failure. A table of a new area
// that refers to none of them is added here; the audit log refuses to be emptied, and
// keeping it changes nothing.
var propertyResetTables = []string{"members", "transactions", "postings", "purchases", "unmatched_purchases", "returns", "outbox",
	"lots", "hold_lots", "debts", "credit_breakdowns", "earning_usage", "tier_qualifying"}

// reset empties the ledger, keeping the programme's accounts.
func (w *propertyWorld) reset(ctx context.Context, t *rapid.T) {
	_, err := w.db.Exec(ctx, `TRUNCATE `+strings.Join(append(slices.Clone(propertyResetTables), w.alsoReset...), ", ")+` CASCADE`)
	if err == nil {
		_, err = w.db.Exec(ctx, `INSERT INTO accounts (name) SELECT unnest($1::text[])`, w.programAccounts)
	}
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
}

// newPropertyWorld migrates a database of its own and builds the application on it;
// configure, when given, changes the programme's configuration first.
func newPropertyWorld(t *testing.T, configure ...func(*app.Config)) *propertyWorld {
	t.Helper()
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testkit.Database(t), service.Schema, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pg.Migrate(ctx, pool, service.Schema, slog.New(slog.DiscardHandler), bus.Migrations(),
		pg.Migration{Name: service.Schema, FS: migrations.FS}); err != nil {
		t.Fatal(err)
	}
	rules, err := domain.NewPOSRules([]domain.Tender{{Currency: "EUR", PointsPerUnit: domain.MustRate(1, 1), MaxMinor: 10_000_000}},
		5*time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	outbox, err := bus.NewOutbox(convert.Produces...)
	if err != nil {
		t.Fatal(err)
	}
	clock := &frozenClock{now: time.Now().UTC().Truncate(time.Second)}
	cfg := app.Config{POS: rules, SurveyBonusPoints: 50, HoldTTL: time.Minute,
		AdjustLimits: domain.AdjustLimits{"admin": 100_000, "service_agent": 500}}
	for _, f := range configure {
		f(&cfg)
	}
	a, err := app.New(app.Deps{
		Store:  postgres.NewStore(pg.NewDB(pool, nil), outbox),
		Config: cfg,
		NewID:  func() string { return uuid.Must(uuid.NewV7()).String() },
		Now:    clock.Now,
		Log:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT name FROM accounts WHERE member_id IS NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	programAccounts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return &propertyWorld{app: a, db: pool, clock: clock, programAccounts: programAccounts}
}

// The model: what the programme's rules say each member has.
type (
	propertyModel struct {
		run       string // makes this sequence's keys unique in the shared database
		seq       int
		members   []string
		available map[string]int64
		held      map[string]int64
		debt      map[string]int64
		purchases []*modelPurchase
		holds     []*modelHold
	}
	modelPurchase struct {
		key              domain.PurchaseKey
		member           string
		total            int64
		points, returned int64
	}
	modelHold struct {
		id, member string
		points     int64
		expires    time.Time
		open       bool
		captured   bool
	}
)

func (m *propertyModel) next(prefix string) string {
	m.seq++
	return fmt.Sprintf("%s-%s-%d", prefix, m.run, m.seq)
}

func (m *propertyModel) openHolds() []*modelHold { return m.holdsWhere(true) }

func (m *propertyModel) closedHolds() []*modelHold { return m.holdsWhere(false) }

func (m *propertyModel) holdsWhere(open bool) []*modelHold {
	var out []*modelHold
	for _, h := range m.holds {
		if h.open == open {
			out = append(out, h)
		}
	}
	return out
}

// run is one random sequence.
func (w *propertyWorld) run(t *rapid.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w.reset(ctx, t)
	c := w.app.Commands
	m := &propertyModel{run: uuid.NewString()[:8], available: map[string]int64{}, held: map[string]int64{}, debt: map[string]int64{}}
	store := "S-" + m.run
	member := func(t *rapid.T) string {
		if len(m.members) == 0 {
			t.Skip("no member yet")
		}
		return rapid.SampledFrom(m.members).Draw(t, "member")
	}
	// debit applies a return's debit to the model as the ledger books it: what the
	// member still has, never below zero; the rest is a debt.
	debit := func(member string, points int64) {
		taken := min(points, m.available[member])
		m.available[member] -= taken
		m.debt[member] += points - taken
	}
	// earn applies points earned (a purchase, a survey bonus): they pay back a debt first.
	earn := func(member string, points int64) {
		repaid := min(points, m.debt[member])
		m.debt[member] -= repaid
		m.available[member] += points - repaid
	}

	t.Repeat(map[string]func(*rapid.T){
		"enrol": func(t *rapid.T) {
			enrolled, err := c.Enroll.Handle(ctx, domain.Actor{Name: "property"}, m.next("enrol"), domain.Enrolment{DisplayName: "Prop", Email: "prop@example.com"})
			if err != nil {
				t.Fatalf("enrol: %v", err)
			}
			m.members = append(m.members, enrolled.Member.ID)
		},
		"purchase": func(t *rapid.T) {
			who := member(t)
			total := rapid.Int64Range(0, 20_000).Draw(t, "total")
			p := domain.Purchase{Key: domain.PurchaseKey{StoreID: store, TransactionID: m.next("T")}, EventID: uuid.NewString(),
				MemberRef: who, OccurredAt: w.clock.Now(), Currency: "EUR", TotalMinor: total}
			batch := []domain.Purchase{p}
			if rapid.Bool().Draw(t, "sent twice") { // the till sent it again, under another event id
				again := p
				again.EventID = uuid.NewString()
				batch = append(batch, again)
			}
			for _, b := range batch {
				booked, err := c.RecordPurchases.Handle(ctx, []domain.Purchase{b})
				if err != nil || len(booked.Refusals) > 0 {
					t.Fatalf("purchase: %v %v", err, booked.Refusals)
				}
			}
			earn(who, total/100)
			m.purchases = append(m.purchases, &modelPurchase{key: p.Key, member: who, total: total, points: total / 100})
		},
		"return": func(t *rapid.T) {
			if len(m.purchases) == 0 {
				t.Skip("no purchase yet")
			}
			p := rapid.SampledFrom(m.purchases).Draw(t, "purchase")
			refund := rapid.Int64Range(0, p.total*3/2+100).Draw(t, "refund")
			r := domain.Return{Key: domain.ReturnKey{StoreID: store, ReturnID: m.next("R")}, OriginalTransactionID: p.key.TransactionID,
				EventID: uuid.NewString(), MemberRef: p.member, OccurredAt: w.clock.Now(), Currency: "EUR", TotalMinor: refund, Deliveries: 1}
			if _, err := c.RecordReturns.Handle(ctx, []domain.Return{r}); err != nil {
				t.Fatalf("return: %v", err)
			}
			points := domain.ReturnPoints(refund/100, p.points, p.returned)
			p.returned += points
			debit(p.member, points)
		},
		"return of a purchase never seen": func(t *rapid.T) {
			who := member(t)
			refund := rapid.Int64Range(0, 10_000).Draw(t, "refund")
			// Past its wait for the purchase: booked from its own amount.
			r := domain.Return{Key: domain.ReturnKey{StoreID: store, ReturnID: m.next("R")}, OriginalTransactionID: m.next("unknown"),
				EventID: uuid.NewString(), MemberRef: who, OccurredAt: w.clock.Now(), Currency: "EUR", TotalMinor: refund, Deliveries: 3}
			if _, err := c.RecordReturns.Handle(ctx, []domain.Return{r}); err != nil {
				t.Fatalf("orphan return: %v", err)
			}
			debit(who, refund/100)
		},
		"hold": func(t *rapid.T) {
			who := member(t)
			points := rapid.Int64Range(1, m.available[who]+10).Draw(t, "points")
			ttl := rapid.SampledFrom([]time.Duration{time.Minute, time.Hour}).Draw(t, "ttl")
			req := domain.HoldRequest{IdempotencyKey: m.next("hold"), MemberID: who, Points: points, TTL: ttl}
			h, err := c.PlaceHold.Handle(ctx, req)
			if points > m.available[who] {
				if !errors.Is(err, domain.ErrInsufficientPoints) {
					t.Fatalf("hold of %d with %d available: %v, want insufficient points", points, m.available[who], err)
				}
				return
			}
			if err != nil {
				t.Fatalf("hold: %v", err)
			}
			if rapid.Bool().Draw(t, "retried") {
				again, err := c.PlaceHold.Handle(ctx, req)
				if err != nil || again.ID != h.ID {
					t.Fatalf("hold retried: %v, %v; want hold %s", again, err, h.ID)
				}
			}
			m.available[who] -= points
			m.held[who] += points
			m.holds = append(m.holds, &modelHold{id: h.ID, member: who, points: points, expires: h.ExpiresAt, open: true})
		},
		"capture": func(t *rapid.T) {
			open := m.openHolds()
			if len(open) == 0 {
				t.Skip("no open hold")
			}
			h := rapid.SampledFrom(open).Draw(t, "hold")
			late := !w.clock.Now().Before(h.expires) // past its expiry, the expirer not come yet
			if rapid.Bool().Draw(t, "through a completed redemption") {
				captured, err := c.CompleteRedemptions.Handle(ctx, []domain.Redemption{{RedemptionID: m.next("redemption"), HoldID: h.id}})
				if late {
					if !errors.Is(err, domain.ErrRedemptionHold) {
						t.Fatalf("redemption completed past the hold's expiry: %v, want the redemption's hold refused", err)
					}
					return
				}
				if err != nil || captured != h.points {
					t.Fatalf("redemption completed: %d captured, %v; want %d", captured, err, h.points)
				}
			} else {
				_, captured, err := c.CaptureHold.Handle(ctx, h.id)
				if late {
					if !errors.Is(err, domain.ErrHoldNotOpen) {
						t.Fatalf("capture past expiry: %v, want hold not open", err)
					}
					return
				}
				if err != nil || !captured {
					t.Fatalf("capture: %v, %v", captured, err)
				}
			}
			h.open, h.captured = false, true
			m.held[h.member] -= h.points
		},
		"void": func(t *rapid.T) {
			open := m.openHolds()
			if len(open) == 0 {
				t.Skip("no open hold")
			}
			h := rapid.SampledFrom(open).Draw(t, "hold")
			if rapid.Bool().Draw(t, "through a cancelled redemption") {
				if err := c.CancelRedemptions.Handle(ctx, []domain.Redemption{{RedemptionID: m.next("redemption"), HoldID: h.id}}); err != nil {
					t.Fatalf("redemption cancelled: %v", err)
				}
			} else if _, voided, err := c.VoidHold.Handle(ctx, h.id, "changed their mind"); err != nil || !voided {
				t.Fatalf("void: %v, %v", voided, err)
			}
			h.open = false
			m.held[h.member] -= h.points
			m.available[h.member] += h.points
		},
		"a closed hold closed again": func(t *rapid.T) {
			closed := m.closedHolds()
			if len(closed) == 0 {
				t.Skip("no closed hold")
			}
			h := rapid.SampledFrom(closed).Draw(t, "hold")
			// Capturing a captured hold and voiding a voided or expired one change nothing;
			// the other way round is refused.
			_, captured, err := c.CaptureHold.Handle(ctx, h.id)
			if captured || (h.captured && err != nil) || (!h.captured && !errors.Is(err, domain.ErrHoldNotOpen)) {
				t.Fatalf("capture of a closed hold (captured %v): %v, %v", h.captured, captured, err)
			}
			_, voided, err := c.VoidHold.Handle(ctx, h.id, "again")
			if voided || (h.captured && !errors.Is(err, domain.ErrHoldNotOpen)) || (!h.captured && err != nil) {
				t.Fatalf("void of a closed hold (captured %v): %v, %v", h.captured, voided, err)
			}
		},
		"survey bonus": func(t *rapid.T) {
			who := member(t)
			r := domain.SurveyResponse{ResponseID: m.next("response"), MemberRef: who, StoreID: store}
			batch := []domain.SurveyResponse{r}
			if rapid.Bool().Draw(t, "delivered twice") {
				batch = append(batch, r)
			}
			for _, b := range batch {
				if _, err := c.CreditSurveyBonuses.Handle(ctx, []domain.SurveyResponse{b}); err != nil {
					t.Fatalf("survey bonus: %v", err)
				}
			}
			earn(who, 50)
		},
		"time passes, holds expire": func(t *rapid.T) {
			w.clock.advance(rapid.SampledFrom([]time.Duration{30 * time.Second, 2 * time.Minute, 2 * time.Hour}).Draw(t, "elapsed"))
			for {
				n, err := c.ExpireHolds.Handle(ctx, 100)
				if err != nil {
					t.Fatalf("expire holds: %v", err)
				}
				if n == 0 {
					break
				}
			}
			now := w.clock.Now()
			for _, h := range m.openHolds() {
				if !now.Before(h.expires) {
					h.open = false
					m.held[h.member] -= h.points
					m.available[h.member] += h.points
				}
			}
		},
		"adjust": func(t *rapid.T) {
			who := member(t)
			dir := rapid.SampledFrom([]domain.AdjustmentDirection{domain.AdjustCredit, domain.AdjustDebit}).Draw(t, "direction")
			points := rapid.Int64Range(1, 1000).Draw(t, "points")
			role := rapid.SampledFrom([]string{"admin", "service_agent"}).Draw(t, "role")
			req := domain.AdjustmentRequest{IdempotencyKey: m.next("adjust"), MemberID: who, Direction: dir, Points: points,
				Code: rapid.SampledFrom(domain.AdjustmentCodes).Draw(t, "code"), Note: "property run"}
			actor := domain.Actor{Name: "prop-" + role, Roles: []string{role}}
			a, made, err := c.AdjustPoints.Handle(ctx, actor, req)
			switch {
			case role == "service_agent" && points > 500:
				if !errors.Is(err, domain.ErrAdjustmentLimit) {
					t.Fatalf("%d points by a service agent: %v, want the limit", points, err)
				}
				return
			case dir == domain.AdjustDebit && points > m.available[who]:
				if !errors.Is(err, domain.ErrInsufficientPoints) {
					t.Fatalf("debit of %d with %d available: %v, want insufficient points", points, m.available[who], err)
				}
				return
			case err != nil || !made || a.BalanceBefore != m.available[who]:
				t.Fatalf("adjust: %+v, %v, %v; balance before %d", a, made, err, m.available[who])
			}
			if rapid.Bool().Draw(t, "retried") {
				again, madeAgain, err := c.AdjustPoints.Handle(ctx, actor, req)
				if err != nil || madeAgain || again.ID != a.ID {
					t.Fatalf("adjustment retried: %+v, %v, %v; want %s again", again, madeAgain, err, a.ID)
				}
			}
			if dir == domain.AdjustCredit {
				m.available[who] += points
			} else {
				m.available[who] -= points
			}
			if a.BalanceAfter != m.available[who] {
				t.Fatalf("adjustment's balance after = %d, want %d", a.BalanceAfter, m.available[who])
			}
		},
		// After every step: the invariants, and each member as the model says.
		"": func(t *rapid.T) {
			assertInvariants(t, w.db)
			w.checkModel(ctx, t, m)
		},
	})
}

// checkModel compares every member's stored balances, and the running balance of their
// newest transaction, with the model.
func (w *propertyWorld) checkModel(ctx context.Context, t *rapid.T, m *propertyModel) {
	if len(m.members) == 0 {
		return
	}
	rows, err := w.db.Query(ctx, `SELECT name, balance FROM accounts WHERE member_id = ANY($1::uuid[])`, m.members)
	if err != nil {
		t.Fatalf("balances: %v", err)
	}
	stored := map[string]int64{}
	var (
		name    string
		balance int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&name, &balance}, func() error { stored[name] = balance; return nil }); err != nil {
		t.Fatalf("balances: %v", err)
	}
	for _, id := range m.members {
		if got, want := stored[domain.AvailableAccount(id)], m.available[id]; got != want {
			t.Fatalf("member %s: available %d, the model says %d", id, got, want)
		}
		if got, want := stored[domain.HoldAccount(id)], m.held[id]; got != want {
			t.Fatalf("member %s: held %d, the model says %d", id, got, want)
		}
		if got := stored[domain.PendingAccount(id)]; got != 0 {
			t.Fatalf("member %s: pending %d, want 0", id, got)
		}
		page, _, err := w.app.Queries.ListTransactions.Handle(ctx, id, domain.HistoryQuery{}, 1, "")
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		if len(page) > 0 && page[0].BalanceAfter != m.available[id] {
			t.Fatalf("member %s: running balance after the newest transaction %d, available %d", id, page[0].BalanceAfter, m.available[id])
		}
	}
}
