package service_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/service"
)

// TestHostilePOSInputIsRefused publishes what a retailer's engineer tried against the
// ledger, next to healthy sales of the same member: each hostile purchase or return ends
// in the dead letters at its first delivery with its reason, and books nothing; the
// healthy ones are credited.
func TestHostilePOSInputIsRefused(t *testing.T) {
	e := started(t, func(c *service.Config) {
		c.OtherRates = map[string]domain.Rate{"CHF": domain.MustRate(6, 5)}
		c.MaxPurchaseMinor = 1_000_000
	})
	m := e.enroll("Mallory")

	withLines := func(p *posv1.PurchaseRecorded, amounts ...int64) *posv1.PurchaseRecorded {
		p.Lines = nil
		for _, a := range amounts {
			p.Lines = append(p.Lines, &posv1.Line{Sku: "SKU", Quantity: 1, AmountMinor: a})
		}
		return p
	}
	inCurrency := func(p *posv1.PurchaseRecorded, currency string) *posv1.PurchaseRecorded {
		p.Currency = currency
		return p
	}
	dated := func(p *posv1.PurchaseRecorded, at time.Time) *posv1.PurchaseRecorded {
		p.OccurredAt = timestamppb.New(at)
		return p
	}
	in2099 := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	// The bus checks a subject's store token against the body's store_id for every POS
	// event, before the ledger sees it.
	onStore := func(store string) string { return bus.MustSpec(&posv1.PurchaseRecorded{}).Subject + "." + store }
	spaced := purchase("S1", "H-spaced", m, 1000)
	spaced.StoreId = "S 1"
	hostile := []struct {
		name    string
		subject string // "" for the purchase's own store
		event   *posv1.PurchaseRecorded
		wantIn  string
	}{
		{"total of int64 max", "", withLines(purchase("S1", "H-max", m, math.MaxInt64)), "total_minor: 9223372036854775807 is above the ceiling of 1000000 EUR"},
		{"one above the ceiling", "", purchase("S1", "H-ceiling", m, 1_000_001), "ceiling"},
		{"a currency that is none", "", inCurrency(purchase("S1", "H-zzz", m, 1000), "ZZZ"), `currency: "ZZZ" is not an ISO-4217 currency`},
		{"yen in a programme of euros and francs", "", inCurrency(purchase("S1", "H-jpy", m, 1000), "JPY"), "currency: JPY is not accepted by this programme (it accepts CHF, EUR)"},
		{"dated 2099", "", dated(purchase("S1", "H-2099", m, 1000), in2099), "occurred_at: 2099-01-01T00:00:00Z is in the future"},
		{"lines of 1 under a total of 100,000", "", withLines(purchase("S1", "H-lines", m, 100_000), 1), "lines: they add up to 1 but total_minor is 100000"},
		{"another store's subject", onStore("S2"), purchase("S1", "H-subject", m, 1000), `subject token "S2" differs from store_id "S1"`},
		{"a subject with more tokens", onStore("S1.x"), purchase("S1", "H-tokens", m, 1000), "is not treue.pos.v1.PurchaseRecorded's subject"},
		{"a store_id that is no subject token", onStore("S1"), spaced, `store_id "S 1"`},
	}
	for _, h := range hostile {
		on := h.subject
		if on == "" {
			on = testkit.Subject(h.event)
		}
		e.Publish(on, h.event.GetEventId(), h.event)
	}
	sale := purchase("S1", "T-ok", m, 10_000)                     // 100 points
	francs := inCurrency(purchase("S1", "T-chf", m, 1000), "CHF") // 10 francs at 1.2: 12 points
	e.publishPurchase(sale)
	e.WaitHandled(service.ConsumerPOS, e.publishPurchase(francs))

	returnOf := func(id string, total int64, change func(*posv1.ReturnRecorded)) *posv1.ReturnRecorded {
		r := posReturn("S1", id, "T-ok", m, total)
		change(r)
		return r
	}
	hostileReturns := []struct {
		name   string
		event  *posv1.ReturnRecorded
		wantIn string
	}{
		{"a return above the ceiling", returnOf("HR-max", math.MaxInt64, func(*posv1.ReturnRecorded) {}), "return S1/HR-max refused: total_minor"},
		{"a return in a currency that is none", returnOf("HR-zzz", 500, func(r *posv1.ReturnRecorded) { r.Currency = "ZZZ" }), "currency"},
		{"a return dated 2099", returnOf("HR-2099", 500, func(r *posv1.ReturnRecorded) { r.OccurredAt = timestamppb.New(in2099) }), "occurred_at"},
		{"a return in francs of a purchase in euros", returnOf("HR-chf", 500, func(r *posv1.ReturnRecorded) { r.Currency = "CHF" }), "the return is in CHF but its purchase S1/T-ok was in EUR"},
		{"a return whose lines are not its total", returnOf("HR-lines", 5000, func(r *posv1.ReturnRecorded) {
			r.Lines = []*posv1.Line{{Sku: "SKU", Quantity: 1, AmountMinor: 50}}
		}), "lines"},
	}
	for _, h := range hostileReturns {
		e.publishReturn(h.event)
	}
	good := posReturn("S1", "R-ok", "T-ok", m, 2500) // 25 points back
	e.WaitHandled(service.ConsumerPOS, e.publishReturn(good))

	// The consumer takes the stream in order, and dead-letters a refusal before it goes on:
	// once the last healthy return is handled, every hostile event has met its fate.
	if n, want := e.db.Count(`SELECT count(*) FROM dead_letters WHERE consumer = $1`, service.ConsumerPOS), len(hostile)+len(hostileReturns); n != int64(want) {
		t.Errorf("%d dead letters, want %d", n, want)
	}
	check := func(name, eventID, wantIn string) {
		t.Helper()
		var reason string
		var deliveries int
		err := e.db.QueryRow(testkit.Ctx(t), `SELECT error, deliveries FROM dead_letters WHERE event_id = $1`, eventID).Scan(&reason, &deliveries)
		if err != nil {
			t.Errorf("%s: no dead letter: %v", name, err)
			return
		}
		if !strings.Contains(reason, wantIn) {
			t.Errorf("%s: dead letter says %q, want %q", name, reason, wantIn)
		}
		if deliveries != 1 {
			t.Errorf("%s: dead-lettered after %d deliveries, want at the first (a refusal is never retried)", name, deliveries)
		}
	}
	for _, h := range hostile {
		check(h.name, h.event.GetEventId(), h.wantIn)
		if n := e.db.Count(`SELECT count(*) FROM purchases WHERE transaction_id = $1`, h.event.GetTransactionId()); n != 0 {
			t.Errorf("%s: the purchase was recorded", h.name)
		}
	}
	for _, h := range hostileReturns {
		check(h.name, h.event.GetEventId(), h.wantIn)
		if n := e.db.Count(`SELECT count(*) FROM returns WHERE return_id = $1`, h.event.GetReturnId()); n != 0 {
			t.Errorf("%s: the return was recorded", h.name)
		}
	}
	e.waitAvailable(m, 100+12-25)
	if n := e.db.Count(`SELECT count(*) FROM transactions`); n != 3 {
		t.Errorf("%d ledger transactions, want 3: two credits and a return", n)
	}
}

// TestRefusedPurchaseReplaysOnceTheRuleChanges: the dead letters are the review queue. A
// purchase above the ceiling is refused; an operator who finds it genuine raises the
// ceiling, restarts, and replays it: it is credited then, once.
func TestRefusedPurchaseReplaysOnceTheRuleChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.start(func(c *service.Config) { c.MaxPurchaseMinor = 50_000 })
	m := e.enroll("Rita")
	big := purchase("S1", "T-big", m, 80_000)
	e.publishPurchase(big)
	testkit.Eventually(t, 10*time.Second, "the dead letter", func() bool {
		return e.db.Count(`SELECT count(*) FROM dead_letters WHERE event_id = $1`, big.GetEventId()) == 1
	})
	if got := e.balance(m).GetAvailable(); got != 0 {
		t.Fatalf("available %d after the refusal, want 0", got)
	}
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	e.start(func(c *service.Config) { c.MaxPurchaseMinor = 100_000 })
	var id int64
	if err := e.db.QueryRow(testkit.Ctx(t), `SELECT id FROM dead_letters WHERE event_id = $1`, big.GetEventId()).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin().ReplayDeadLetter(testkit.Ctx(t), &adminv1.ReplayDeadLetterRequest{Id: id}); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if got := e.balance(m).GetAvailable(); got != 800 {
		t.Errorf("available %d after the replay, want 800", got)
	}
}
