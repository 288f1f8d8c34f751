package service_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

// The programme the property run books under: a return window, points that expire a
// month after they are earned, tiers, and two rules on coffee, one of them in a campaign
// with a small budget and caps.
const (
	progReturnWindow = time.Hour
	progNotice       = 7 * 24 * time.Hour
	progSurveyBonus  = 50
	// The campaign's rule: a fixed bonus per basket with a coffee line, capped per
	// purchase and per day, from a budget that a handful of purchases exhaust.
	progBonus       = 30
	progBonusCap    = 20
	progBonusPerDay = 30
	progBudget      = 100
	// The other rule: double points on the coffee line, capped per purchase.
	progDoubleCap = 15
	// A custom event rule of the campaign: once per member, from the same budget.
	progAppBonus = 10
)

// progStart is when every run starts.
var progStart = time.Date(2026, time.January, 30, 22, 0, 0, 0, time.UTC)

// progTiers are the programme's tiers over a rolling window of one month, no grace.
var progTiers = []domain.Tier{
	{Code: "bronze", Name: "Bronze", Rank: 0},
	{Code: "silver", Name: "Silver", Rank: 1, MinPoints: 40},
	{Code: "gold", Name: "Gold", Rank: 2, MinPoints: 120, MinSpendMinor: 25_000},
}

// programmeInvariants hold on a ledger whose transactions are made one after the other
// with a clock that only moves forward, whose tiers are defined before anyone enrols and
// never redefined: the property runs. (Under concurrent batches a transaction may be
// dated before one that committed earlier, and a redefinition leaves members in a tier no
// longer defined until the next evaluation, so these are not in ledgerInvariants.)
var programmeInvariants = []invariant{
	// An earning that reaches the available balance of a member who owes pays the debt
	// back in the same transaction time: a repayment dated then.
	{"debt is repaid before new points become available", `
		WITH earning AS (
			SELECT t.id, t.member_id, t.created_at FROM transactions t JOIN postings p ON p.transaction_id = t.id
			WHERE p.destination = 'member:' || t.member_id
				AND ((t.kind = 'credit' AND t.reason IN ('purchase', 'survey_bonus', 'custom_event')) OR t.kind = 'mature'))
		SELECT count(*) FROM earning e
		WHERE (SELECT COALESCE(sum(CASE WHEN p.destination = 'member:' || e.member_id || ':debt' THEN p.amount ELSE -p.amount END), 0)
				FROM postings p JOIN transactions t ON t.id = p.transaction_id
				WHERE t.created_at < e.created_at AND 'member:' || e.member_id || ':debt' IN (p.source, p.destination)) > 0
			AND NOT EXISTS (SELECT FROM transactions r WHERE r.member_id = e.member_id AND r.reason = 'debt_repayment' AND r.created_at = e.created_at)`},
	{"every member is in a defined tier", `
		SELECT count(*) FROM members m WHERE m.erased_at IS NULL AND NOT EXISTS (SELECT FROM tiers t WHERE t.code = m.tier)`},
	{"a manual tier names a defined tier", `
		SELECT count(*) FROM members m WHERE m.manual_tier IS NOT NULL AND NOT EXISTS (SELECT FROM tiers t WHERE t.code = m.manual_tier)`},
}

// defaultProgrammeChecks is how many random sequences TestProgrammeProperties runs unless
// told otherwise (as for TestLedgerProperties): a few seconds.
const defaultProgrammeChecks = 5

// TestProgrammeProperties runs random sequences through the application on real Postgres
// under a whole programme: purchases (some with a coffee line that earns by two rules,
// one of them a budgeted, capped campaign; some uploaded late, past their return window;
// some sent twice) whose points stay pending an hour; returns inside and after the
// window, of purchases the ledger knows or not, over what was earned or not, after the
// points were spent or not (debts); survey bonuses; custom events earning once per member
// from the campaign's budget; holds captured, voided and expired,
// some of them over lots that expired meanwhile; adjustments; manual tiers; and a clock
// the test moves by seconds to weeks, after which the jobs run: holds expire, pending
// points mature (paying debts back first), lots expire and are announced, tiers are
// evaluated. After every step the ledger's invariants hold (assertInvariants, and
// programmeInvariants), and every member's available, pending, held and owed points,
// tier and lots, every purchase's points and the campaign's spending equal what a plain
// model of the programme says.
func TestProgrammeProperties(t *testing.T) {
	t.Parallel()
	useDefaultChecks(defaultProgrammeChecks)
	expiry, err := domain.ParseExpiryPolicy("months:1")
	if err != nil {
		t.Fatal(err)
	}
	w := newPropertyWorld(t, func(c *app.Config) {
		c.SurveyBonusPoints = progSurveyBonus
		c.Currency = "EUR"
		c.Lots = domain.LotPolicy{ReturnWindow: progReturnWindow, Expiry: expiry, Location: time.UTC, Notice: progNotice,
			DebtRepeatWindow: 30 * 24 * time.Hour}
		c.Earning = app.EarningConfig{Location: time.UTC, DefaultExpiry: expiry}
	})
	// Each run defines its programme anew: a campaign's spending starts from zero.
	w.alsoReset = []string{"campaigns", "rules", "rule_versions", "rule_live_periods", "tiers", "tier_programme"}
	rapid.Check(t, func(rt *rapid.T) { w.runProgramme(rt, expiry) })
	t.Logf("the runs exercised: %v", progSeen.n)
}

// The model of a programme.
type (
	progModel struct {
		run        string
		seq, lotID int
		members    []string
		byID       map[string]*progMember
		purchases  []*progPurchase
		holds      []*progHold
		spent      int64                       // the campaign's
		usedPerDay map[string]map[string]int64 // member → day → the campaign rule's awards
		appBonus   map[string]bool             // members the custom event rule awarded
		expiry     domain.ExpiryPolicy
	}
	progMember struct {
		id          string
		lots        []*progLot
		held, debt  int64
		tier        int // index into progTiers
		manual      int // -1: no manual tier
		manualUntil time.Time
		figures     map[time.Time]domain.Figures // by month
		erased      bool
	}
	progLot struct {
		id                int
		credit            string // "" for none a return prefers
		earned, expires   time.Time
		matures           time.Time
		remaining, points int64
		pending           bool
	}
	progPurchase struct {
		key              domain.PurchaseKey
		member           string
		occurred         time.Time
		total            int64
		points, returned int64
	}
	progHold struct {
		id, member string
		points     int64
		expires    time.Time
		open       bool
		captured   bool
		burns      []progBurn
	}
	progBurn struct {
		lot    *progLot
		points int64
	}
)

func (m *progModel) next(prefix string) string {
	m.seq++
	return fmt.Sprintf("%s-%s-%d", prefix, m.run, m.seq)
}

func (pm *progMember) sum(pending bool) int64 {
	var n int64
	for _, l := range pm.lots {
		if l.pending == pending {
			n += l.remaining
		}
	}
	return n
}

func (pm *progMember) available() int64 { return pm.sum(false) }

// newLot is a credit's lot, earned now, pending until matures when that is not zero.
func (m *progModel) newLot(pm *progMember, credit string, points int64, now, matures time.Time) {
	if points <= 0 {
		return
	}
	m.lotID++
	pm.lots = append(pm.lots, &progLot{id: m.lotID, credit: credit, earned: now, expires: m.expiry.ExpiresAt(now, time.UTC),
		matures: matures, remaining: points, points: points, pending: !matures.IsZero()})
}

// burn takes points from the member's pending or available lots in spending order: those
// of prefer first (only those with onlyPrefer), then the soonest to expire, the oldest.
// Lots never tie on expiry and earning time in this run (the clock moves between steps),
// so the order does not depend on their ids.
func (pm *progMember) burn(pending bool, prefer string, onlyPrefer bool, points int64) (burns []progBurn, short int64) {
	var cands []*progLot
	for _, l := range pm.lots {
		if l.pending == pending && l.remaining > 0 && (!onlyPrefer || l.credit == prefer) {
			cands = append(cands, l)
		}
	}
	slices.SortStableFunc(cands, func(a, b *progLot) int {
		ap, bp := prefer != "" && a.credit == prefer, prefer != "" && b.credit == prefer
		if ap != bp {
			if ap {
				return -1
			}
			return 1
		}
		return cmp.Or(a.expires.Compare(b.expires), a.earned.Compare(b.earned), cmp.Compare(a.id, b.id))
	})
	for _, l := range cands {
		if points == 0 {
			break
		}
		n := min(l.remaining, points)
		l.remaining -= n
		points -= n
		burns = append(burns, progBurn{l, n})
	}
	return burns, points
}

// repay pays back what the member owes from points that just became available.
func (pm *progMember) repay(gained int64) {
	n := min(gained, pm.debt)
	if n <= 0 {
		return
	}
	if _, short := pm.burn(false, "", false, n); short > 0 {
		panic("model: repayment without the points")
	}
	pm.debt -= n
	progSeen.add("debts repaid", 1)
}

// giveBack returns a voided or expired hold's points to their lots, or expires them with
// a lot past its expiry.
func (pm *progMember) giveBack(h *progHold, now time.Time) {
	for _, b := range h.burns {
		if !now.Before(b.lot.expires) {
			progSeen.add("a voided or expired hold's points expired with their lot", 1)
		} else {
			b.lot.remaining += b.points
		}
	}
	pm.held -= h.points
	h.open = false
}

// qualified is the highest tier the member's figures reach at now, or their manual tier
// while it lasts when higher.
func (pm *progMember) qualified(now time.Time) int {
	start := domain.MonthOf(now).AddDate(0, -1, 0)
	var f domain.Figures
	for month, mf := range pm.figures {
		if !month.Before(start) {
			f.Points += mf.Points
			f.SpendMinor += mf.SpendMinor
		}
	}
	best := 0
	for i, t := range progTiers {
		if i > 0 && ((t.MinPoints > 0 && f.Points >= t.MinPoints) || (t.MinSpendMinor > 0 && f.SpendMinor >= t.MinSpendMinor)) {
			best = i
		}
	}
	if pm.manual >= 0 && now.Before(pm.manualUntil) {
		best = max(best, pm.manual)
	}
	return best
}

func (pm *progMember) qualify(month time.Time, points, spend int64) {
	f := pm.figures[domain.MonthOf(month)]
	f.Points += points
	f.SpendMinor += spend
	pm.figures[domain.MonthOf(month)] = f
}

// setUp defines the tiers, the campaign and the rules of a run.
func (w *propertyWorld) setUpProgramme(ctx context.Context, t *rapid.T) {
	c := w.app.Commands
	staff := domain.Actor{Name: "property", Roles: []string{"admin"}}
	if _, err := c.Tiers.DefineTiers.Handle(ctx, staff, domain.TierProgramme{Basis: domain.BasisRolling, WindowMonths: 1,
		Tiers: slices.Clone(progTiers)}); err != nil {
		t.Fatalf("tiers: %v", err)
	}
	camp, err := c.Program.CreateCampaign(ctx, staff, earn.Campaign{Name: "coffee week", Active: true, Budget: progBudget})
	if err != nil {
		t.Fatalf("campaign: %v", err)
	}
	for _, v := range []earn.RuleVersion{
		{Name: "coffee bonus", CampaignID: camp.ID, Trigger: earn.TriggerPurchase, LineFilter: `line.category == "coffee"`,
			Award:    earn.Award{Kind: earn.AwardFixedBonus, Points: progBonus, Per: earn.PerBasket, On: earn.TargetMatchingLines},
			Stacking: earn.Additive, Caps: earn.Caps{PerPurchase: progBonusCap, PerDay: progBonusPerDay}},
		{Name: "double coffee", Trigger: earn.TriggerPurchase, LineFilter: `line.category == "coffee"`,
			Award:    earn.Award{Kind: earn.AwardMultiplier, Rate: domain.MustRate(2, 1), Per: earn.PerLine, On: earn.TargetMatchingLines},
			Stacking: earn.Additive, Caps: earn.Caps{PerPurchase: progDoubleCap}},
		{Name: "app installed", CampaignID: camp.ID, Trigger: earn.CustomTrigger("app_installed"),
			Award:    earn.Award{Kind: earn.AwardFixedBonus, Points: progAppBonus, Per: earn.PerBasket, On: earn.TargetBasket},
			Stacking: earn.Additive, EventLimit: earn.LimitOnce},
	} {
		if _, err := c.Program.CreateRule(ctx, staff, v, true); err != nil {
			t.Fatalf("rule %s: %v", v.Name, err)
		}
	}
}

// runProgramme is one random sequence.
func (w *propertyWorld) runProgramme(t *rapid.T, expiry domain.ExpiryPolicy) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w.reset(ctx, t)
	// Every run starts at the same moment, so that a failure replays and shrinks the same:
	// two hours before a day, a month ends, and a day a month's expiry is clamped.
	w.clock.set(progStart)
	w.setUpProgramme(ctx, t)
	c := w.app.Commands
	m := &progModel{run: uuid.NewString()[:8], byID: map[string]*progMember{}, usedPerDay: map[string]map[string]int64{},
		appBonus: map[string]bool{}, expiry: expiry}
	store := "S-" + m.run
	member := func(t *rapid.T) *progMember {
		if len(m.members) == 0 {
			t.Skip("no member yet")
		}
		return m.byID[rapid.SampledFrom(m.members).Draw(t, "member")]
	}
	// Every step happens a second after the one before: no two lots tie in spending order.
	tick := func() time.Time { w.clock.advance(time.Second); return w.clock.Now().UTC() }
	// earn credits points that reach the available balance at once: they repay debts first.
	earned := func(pm *progMember, credit string, points int64, now time.Time) {
		m.newLot(pm, credit, points, now, time.Time{})
		pm.repay(points)
	}
	// debit takes a return's points: the purchase's pending points, then the available
	// balance (the purchase's lots first), the rest is owed.
	debit := func(pm *progMember, credit string, points int64) {
		if points <= 0 {
			return
		}
		var fromPending int64
		if credit != "" {
			_, short := pm.burn(true, credit, true, points)
			fromPending = points - short
			if fromPending > 0 {
				progSeen.add("returns inside the window", 1)
			}
		}
		_, owed := pm.burn(false, credit, false, points-fromPending)
		if owed > 0 {
			pm.debt += owed
			progSeen.add("debts", 1)
		}
	}
	// runJobs is what the service's sweeps do once the clock moved.
	runJobs := func(t *rapid.T) {
		now := w.clock.Now()
		// Small runs too: a job's work split over several transactions.
		limit := rapid.SampledFrom([]int{1, 2, 50}).Draw(t, "job batch size")
		for _, job := range []struct {
			name string
			run  func() (int, error)
		}{
			{"expire holds", func() (int, error) { return c.ExpireHolds.Handle(ctx, limit) }},
			{"mature points", func() (int, error) { return c.MaturePoints.Handle(ctx, limit) }},
			{"expire points", func() (int, error) { return c.ExpirePoints.Handle(ctx, limit) }},
			{"announce expiries", func() (int, error) { return c.AnnounceExpiries.Handle(ctx, limit) }},
		} {
			for {
				n, err := job.run()
				if err != nil {
					t.Fatalf("%s: %v", job.name, err)
				}
				if n == 0 {
					break
				}
			}
		}
		// Every lot with points that expire within the notice has been announced.
		var unannounced int64
		if err := w.db.QueryRow(ctx, `SELECT count(*) FROM lots WHERE remaining > 0 AND NOT pending AND notified_at IS NULL
			AND expires_at <= $1`, now.Add(progNotice)).Scan(&unannounced); err != nil || unannounced != 0 {
			t.Fatalf("%d lots expiring within the notice not announced (%v)", unannounced, err)
		}
		for _, h := range m.holds {
			if h.open && !now.Before(h.expires) {
				m.byID[h.member].giveBack(h, now)
			}
		}
		for _, pm := range m.byID {
			var gained int64
			for _, l := range pm.lots {
				if l.pending && !now.Before(l.matures) {
					progSeen.add("lots matured", 1)
					l.pending = false
					gained += l.remaining
				}
			}
			pm.repay(gained)
			for _, l := range pm.lots {
				if !l.pending && l.remaining > 0 && !now.Before(l.expires) {
					progSeen.add("lots expired", 1)
					l.remaining = 0
				}
			}
		}
	}

	enrol := func(t *rapid.T) {
		tick()
		enrolled, err := c.Enroll.Handle(ctx, domain.Actor{Name: "property"}, m.next("enrol"), domain.Enrolment{DisplayName: "Prop", Email: "prop@example.com"})
		if err != nil {
			t.Fatalf("enrol: %v", err)
		}
		id := enrolled.Member.ID
		m.members = append(m.members, id)
		m.byID[id] = &progMember{id: id, manual: -1, figures: map[time.Time]domain.Figures{}}
	}
	// Two members from the start, so that every step has someone to act on.
	enrol(t)
	enrol(t)
	// purchases books a batch of one to three purchases (one member may make several):
	// the rules evaluate them in order, each seeing what the one before used of caps and
	// budget.
	purchases := func(t *rapid.T) {
		now := tick()
		type sale struct {
			p      domain.Purchase
			pm     *progMember
			points int64
		}
		var sales []sale
		for range rapid.SampledFrom([]int{1, 1, 1, 2, 3}).Draw(t, "purchases in the batch") {
			pm := member(t)
			coffee := rapid.SampledFrom([]int64{0, 0, 250, 499, 1200, 2600}).Draw(t, "coffee")
			other := rapid.Int64Range(0, 15_000).Draw(t, "other")
			// Uploaded late, the purchase is past its return window already (and, two months
			// late, outside the tiers' period).
			occurred := now.Add(-rapid.SampledFrom([]time.Duration{0, 0, 0, 2 * time.Hour, 60 * 24 * time.Hour}).Draw(t, "uploaded after"))
			p := domain.Purchase{Key: domain.PurchaseKey{StoreID: store, TransactionID: m.next("T")}, EventID: uuid.NewString(),
				MemberRef: pm.id, OccurredAt: occurred, Currency: "EUR", TotalMinor: coffee + other, Channel: "store",
				Lines: []domain.Line{{SKU: "BRD-1", Quantity: 1, AmountMinor: other, Category: "bakery"}}}
			if coffee > 0 {
				p.Lines = append(p.Lines, domain.Line{SKU: "COF-1", Quantity: 1, AmountMinor: coffee, Category: "coffee"})
			}
			// What the rules award.
			points := p.TotalMinor / 100
			if coffee > 0 {
				points += min(coffee/100, progDoubleCap)
				day := occurred.UTC().Format("2006-01-02")
				used := m.usedPerDay[pm.id]
				if used == nil {
					used = map[string]int64{}
					m.usedPerDay[pm.id] = used
				}
				if m.spent < progBudget {
					bonus := min(progBonus, progBonusCap, max(progBonusPerDay-used[day], 0), progBudget-m.spent)
					if bonus < progBonusCap {
						progSeen.add("campaign awards cut by the daily cap or the budget", 1)
					}
					used[day] += bonus
					m.spent += bonus
					points += bonus
				}
			}
			sales = append(sales, sale{p, pm, points})
		}
		batch := make([]domain.Purchase, len(sales))
		var total int64
		for i, s := range sales {
			batch[i] = s.p
			total += s.points
		}
		booked, err := c.RecordPurchases.Handle(ctx, batch)
		if err != nil || len(booked.Refusals) > 0 {
			t.Fatalf("purchases: %v %v", err, booked.Refusals)
		}
		if booked.Points != total {
			t.Fatalf("a batch of %d purchases earned %d points, the rules say %d", len(batch), booked.Points, total)
		}
		if rapid.Bool().Draw(t, "sent again") { // the till sent them again, under other event ids
			for i := range batch {
				batch[i].EventID = uuid.NewString()
			}
			if booked, err := c.RecordPurchases.Handle(ctx, batch); err != nil || booked.Points != 0 || booked.Sales != 0 {
				t.Fatalf("purchases sent again: %+v, %v; want nothing booked", booked, err)
			}
		}
		for _, s := range sales {
			p, pm, points := s.p, s.pm, s.points
			m.purchases = append(m.purchases, &progPurchase{key: p.Key, member: pm.id, occurred: p.OccurredAt, total: p.TotalMinor, points: points})
			if matures, pending := (domain.LotPolicy{ReturnWindow: progReturnWindow}).Maturity(p.OccurredAt, now); pending {
				m.newLot(pm, p.Key.Reference(), points, now, matures)
				progSeen.add("purchases pending", 1)
			} else {
				earned(pm, p.Key.Reference(), points, now)
			}
			pm.qualify(p.OccurredAt, points, p.TotalMinor)
			if points > 0 || p.TotalMinor > 0 {
				if pm.qualified(now) > pm.tier {
					progSeen.add("tiers raised by a purchase", 1)
				}
				pm.tier = max(pm.tier, pm.qualified(now))
			}
		}
	}

	timePasses := func(t *rapid.T) {
		w.clock.advance(rapid.SampledFrom([]time.Duration{30 * time.Second, 2 * time.Minute, 2 * time.Hour,
			8 * 24 * time.Hour, 35 * 24 * time.Hour}).Draw(t, "elapsed"))
		runJobs(t)
	}

	t.Repeat(map[string]func(*rapid.T){
		"enrol": enrol,
		// Purchases are what a programme mostly sees.
		"purchases":         purchases,
		"further purchases": purchases,
		"return": func(t *rapid.T) {
			if len(m.purchases) == 0 {
				t.Skip("no purchase yet")
			}
			now := tick()
			// A batch of one to three returns, of one purchase or several: each takes back
			// what the ones before left.
			var batch []domain.Return
			var returned []func()
			for range rapid.SampledFrom([]int{1, 1, 2, 3}).Draw(t, "returns in the batch") {
				p := rapid.SampledFrom(m.purchases).Draw(t, "purchase")
				refund := rapid.Int64Range(0, p.total*3/2+100).Draw(t, "refund")
				batch = append(batch, domain.Return{Key: domain.ReturnKey{StoreID: store, ReturnID: m.next("R")}, OriginalTransactionID: p.key.TransactionID,
					EventID: uuid.NewString(), MemberRef: p.member, OccurredAt: now, Currency: "EUR", TotalMinor: refund, Deliveries: 1})
				returned = append(returned, func() {
					points := domain.ReturnPoints(refund/100, p.points, p.returned)
					p.returned += points
					pm := m.byID[p.member]
					credit := ""
					if p.points > 0 {
						credit = p.key.Reference()
					}
					if !pm.erased { // the ledger books nothing more for a member who left
						debit(pm, credit, points)
					}
					pm.qualify(p.occurred, -points, -refund)
				})
			}
			if _, err := c.RecordReturns.Handle(ctx, batch); err != nil {
				t.Fatalf("returns: %v", err)
			}
			for _, f := range returned {
				f()
			}
		},
		"return of a purchase never seen": func(t *rapid.T) {
			pm := member(t)
			now := tick()
			refund := rapid.Int64Range(0, 10_000).Draw(t, "refund")
			r := domain.Return{Key: domain.ReturnKey{StoreID: store, ReturnID: m.next("R")}, OriginalTransactionID: m.next("unknown"),
				EventID: uuid.NewString(), MemberRef: pm.id, OccurredAt: now, Currency: "EUR", TotalMinor: refund, Deliveries: 3}
			if _, err := c.RecordReturns.Handle(ctx, []domain.Return{r}); err != nil {
				t.Fatalf("orphan return: %v", err)
			}
			debit(pm, "", refund/100)
			pm.qualify(now, -refund/100, -refund)
		},
		"hold": func(t *rapid.T) {
			pm := member(t)
			tick()
			available := pm.available()
			points := rapid.Int64Range(1, available+10).Draw(t, "points")
			ttl := rapid.SampledFrom([]time.Duration{time.Minute, time.Hour, 40 * 24 * time.Hour}).Draw(t, "ttl")
			h, err := c.PlaceHold.Handle(ctx, domain.HoldRequest{IdempotencyKey: m.next("hold"), MemberID: pm.id, Points: points, TTL: ttl})
			if points > available {
				if !errors.Is(err, domain.ErrInsufficientPoints) {
					t.Fatalf("hold of %d with %d available: %v, want insufficient points", points, available, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("hold: %v", err)
			}
			burns, _ := pm.burn(false, "", false, points)
			pm.held += points
			m.holds = append(m.holds, &progHold{id: h.ID, member: pm.id, points: points, expires: h.ExpiresAt, open: true, burns: burns})
		},
		"capture": func(t *rapid.T) {
			var open []*progHold
			for _, h := range m.holds {
				if h.open && !m.byID[h.member].erased {
					open = append(open, h)
				}
			}
			if len(open) == 0 {
				t.Skip("no open hold")
			}
			now := tick()
			h := rapid.SampledFrom(open).Draw(t, "hold")
			_, captured, err := c.CaptureHold.Handle(ctx, h.id)
			if !now.Before(h.expires) { // past its expiry, the expirer not come yet
				if !errors.Is(err, domain.ErrHoldNotOpen) {
					t.Fatalf("capture past expiry: %v, want hold not open", err)
				}
				return
			}
			if err != nil || !captured {
				t.Fatalf("capture: %v, %v", captured, err)
			}
			h.open, h.captured = false, true
			m.byID[h.member].held -= h.points
		},
		"void": func(t *rapid.T) {
			var open []*progHold
			for _, h := range m.holds {
				if h.open && !m.byID[h.member].erased {
					open = append(open, h)
				}
			}
			if len(open) == 0 {
				t.Skip("no open hold")
			}
			now := tick()
			h := rapid.SampledFrom(open).Draw(t, "hold")
			if _, voided, err := c.VoidHold.Handle(ctx, h.id, "changed their mind"); err != nil || !voided {
				t.Fatalf("void: %v, %v", voided, err)
			}
			m.byID[h.member].giveBack(h, now)
		},
		"survey bonus": func(t *rapid.T) {
			pm := member(t)
			now := tick()
			r := domain.SurveyResponse{ResponseID: m.next("response"), MemberRef: pm.id, StoreID: store}
			batch := []domain.SurveyResponse{r}
			if rapid.Bool().Draw(t, "delivered twice") {
				batch = append(batch, r)
			}
			for _, b := range batch {
				if _, err := c.CreditSurveyBonuses.Handle(ctx, []domain.SurveyResponse{b}); err != nil {
					t.Fatalf("survey bonus: %v", err)
				}
			}
			earned(pm, "survey:"+r.ResponseID, progSurveyBonus, now)
		},
		"custom event": func(t *rapid.T) {
			pm := member(t)
			now := tick()
			ev := earn.CustomEvent{EventID: m.next("event"), Source: store, MemberRef: pm.id, Type: "app_installed", OccurredAt: now}
			batch := []earn.CustomEvent{ev}
			if rapid.Bool().Draw(t, "delivered twice") {
				batch = append(batch, ev)
			}
			var want int64
			if !m.appBonus[pm.id] && m.spent < progBudget {
				want = min(progAppBonus, progBudget-m.spent)
			}
			credited, err := c.RecordCustomEvents.Handle(ctx, batch)
			if err != nil || credited != want {
				t.Fatalf("custom event: %d credited, %v; the rules say %d", credited, err, want)
			}
			if want > 0 {
				m.appBonus[pm.id] = true
				m.spent += want
				earned(pm, ev.Reference(), want, now)
				progSeen.add("custom events awarded", 1)
			}
		},
		"erase a member": func(t *rapid.T) {
			if len(m.members) < 3 { // rarely: the run needs members to act on
				t.Skip("too few members")
			}
			pm := member(t)
			tick()
			if _, err := c.EraseMember.Handle(ctx, pm.id, "property run"); err != nil {
				t.Fatalf("erase: %v", err)
			}
			pm.erased = true
			m.members = slices.DeleteFunc(m.members, func(id string) bool { return id == pm.id })
			progSeen.add("members erased", 1)
		},
		"adjust": func(t *rapid.T) {
			pm := member(t)
			now := tick()
			dir := rapid.SampledFrom([]domain.AdjustmentDirection{domain.AdjustCredit, domain.AdjustDebit}).Draw(t, "direction")
			points := rapid.Int64Range(1, 300).Draw(t, "points")
			req := domain.AdjustmentRequest{IdempotencyKey: m.next("adjust"), MemberID: pm.id, Direction: dir, Points: points,
				Code: rapid.SampledFrom(domain.AdjustmentCodes).Draw(t, "code"), Note: "property run"}
			_, _, err := c.AdjustPoints.Handle(ctx, domain.Actor{Name: "prop-admin", Roles: []string{"admin"}}, req)
			switch {
			case dir == domain.AdjustDebit && points > pm.available():
				if !errors.Is(err, domain.ErrInsufficientPoints) {
					t.Fatalf("debit of %d with %d available: %v, want insufficient points", points, pm.available(), err)
				}
				return
			case err != nil:
				t.Fatalf("adjust: %v", err)
			}
			if dir == domain.AdjustCredit {
				m.newLot(pm, "", points, now, time.Time{}) // not an earning: it repays no debt
			} else {
				pm.burn(false, "", false, points)
			}
		},
		"manual tier": func(t *rapid.T) {
			pm := member(t)
			now := tick()
			tier := rapid.IntRange(-1, len(progTiers)-1).Draw(t, "tier")
			code, until := "", time.Time{}
			if tier >= 0 {
				code = progTiers[tier].Code
				until = now.Add(rapid.SampledFrom([]time.Duration{time.Hour, 40 * 24 * time.Hour}).Draw(t, "for"))
			}
			st, err := c.Tiers.SetManualTier.Handle(ctx, domain.Actor{Name: "prop-admin", Roles: []string{"admin"}}, pm.id, code, until, "property run")
			if err != nil {
				t.Fatalf("manual tier %q: %v", code, err)
			}
			pm.manual, pm.manualUntil = tier, until
			pm.tier = max(pm.tier, pm.qualified(now))
			if st.Tier.Code != progTiers[pm.tier].Code {
				t.Fatalf("manual tier %q: standing %s, the model says %s", code, st.Tier.Code, progTiers[pm.tier].Code)
			}
		},
		"time passes, the jobs run":       timePasses,
		"time passes, the jobs run again": timePasses,
		"tiers evaluated": func(t *rapid.T) {
			now := tick()
			// A pass, page by page.
			page := rapid.SampledFrom([]int{1, 2, 50}).Draw(t, "page")
			for {
				seen, _, err := c.Tiers.EvaluateTiers.Handle(ctx, page)
				if err != nil {
					t.Fatalf("evaluate tiers: %v", err)
				}
				if seen < page {
					break
				}
			}
			// No grace: every member is where their figures (or manual tier) put them.
			for _, pm := range m.byID {
				if pm.erased { // left out of evaluations
					continue
				}
				if pm.manual >= 0 && !now.Before(pm.manualUntil) {
					pm.manual, pm.manualUntil = -1, time.Time{}
				}
				if q := pm.qualified(now); q < pm.tier {
					progSeen.add("tiers lowered by the evaluation", 1)
				}
				pm.tier = pm.qualified(now)
			}
		},
		"": func(t *rapid.T) {
			assertInvariants(t, w.db)
			for _, inv := range programmeInvariants {
				var bad int64
				if err := w.db.QueryRow(ctx, inv.Query).Scan(&bad); err != nil {
					t.Fatalf("%s: %v", inv.Name, err)
				}
				if bad != 0 {
					t.Errorf("invariant broken: %s (%d rows)", inv.Name, bad)
				}
			}
			w.checkProgramme(ctx, t, m)
		},
	})
}

// checkProgramme compares the stored state with the model.
func (w *propertyWorld) checkProgramme(ctx context.Context, t *rapid.T, m *progModel) {
	var spent int64
	if err := w.db.QueryRow(ctx, `SELECT COALESCE(sum(spent_points), 0) FROM campaigns`).Scan(&spent); err != nil {
		t.Fatalf("campaign: %v", err)
	}
	if spent != m.spent {
		t.Fatalf("the campaign spent %d, the model says %d", spent, m.spent)
	}
	for id, pm := range m.byID { // the erased too: their points still mature and expire
		var (
			available, pending, held, debt int64
			tier                           string
		)
		if err := w.db.QueryRow(ctx, `SELECT
				COALESCE(sum(balance) FILTER (WHERE name = 'member:' || $1), 0),
				COALESCE(sum(balance) FILTER (WHERE name = 'member:' || $1 || ':pending'), 0),
				COALESCE(sum(balance) FILTER (WHERE name = 'member:' || $1 || ':hold'), 0),
				COALESCE(sum(balance) FILTER (WHERE name = 'member:' || $1 || ':debt'), 0),
				(SELECT tier FROM members WHERE id = $1::uuid)
			FROM accounts WHERE member_id = $1::uuid`, id).Scan(&available, &pending, &held, &debt, &tier); err != nil {
			t.Fatalf("member %s: %v", id, err)
		}
		want := [4]int64{pm.available(), pm.sum(true), pm.held, pm.debt}
		if got := [4]int64{available, pending, held, debt}; got != want {
			t.Fatalf("member %s: available, pending, held, owed %v; the model says %v", id, got, want)
		}
		if tier != progTiers[pm.tier].Code {
			t.Fatalf("member %s: tier %s, the model says %s", id, tier, progTiers[pm.tier].Code)
		}
		// Lot by lot: what is left of each, in order of expiry.
		rows, err := w.db.Query(ctx, `SELECT remaining FROM lots WHERE member_id = $1 AND remaining > 0 ORDER BY pending, expires_at, earned_at, id`, id)
		if err != nil {
			t.Fatalf("lots: %v", err)
		}
		var got []int64
		for rows.Next() {
			var n int64
			if err := rows.Scan(&n); err != nil {
				t.Fatalf("lots: %v", err)
			}
			got = append(got, n)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("lots: %v", err)
		}
		lots := slices.Clone(pm.lots)
		slices.SortStableFunc(lots, func(a, b *progLot) int {
			if a.pending != b.pending {
				if b.pending {
					return -1
				}
				return 1
			}
			return cmp.Or(a.expires.Compare(b.expires), a.earned.Compare(b.earned), cmp.Compare(a.id, b.id))
		})
		var wantLots []int64
		for _, l := range lots {
			if l.remaining > 0 {
				wantLots = append(wantLots, l.remaining)
			}
		}
		if !slices.Equal(got, wantLots) {
			t.Fatalf("member %s: lots left %v, the model says %v", id, got, wantLots)
		}
	}
}

// progCounts counts what the property runs exercised, to show they do.
type progCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *progCounts) add(what string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[what] += n
}

var progSeen progCounts

func (c *frozenClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
