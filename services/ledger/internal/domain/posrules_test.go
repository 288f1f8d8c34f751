package domain_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// rules accepts EUR at 1 point per euro and JPY at 0.01 per yen, each up to its own
// ceiling, with 5 minutes of clock skew and lines exact to 2 minor units.
func rules(t *testing.T) domain.POSRules {
	t.Helper()
	r, err := domain.NewPOSRules([]domain.Tender{
		{Currency: "EUR", PointsPerUnit: domain.MustRate(1, 1), MaxMinor: 10_000_000},
		{Currency: "JPY", PointsPerUnit: domain.MustRate(1, 100), MaxMinor: 20_000_000},
		{Currency: "BHD", PointsPerUnit: domain.MustRate(2, 1), MaxMinor: 100_000_000},
	}, 5*time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheckPurchase(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ok := func() domain.Purchase {
		return domain.Purchase{Key: domain.PurchaseKey{StoreID: "S1", TransactionID: "T1"}, OccurredAt: now,
			Currency: "EUR", TotalMinor: 10_000, Lines: []domain.Line{{SKU: "A", Quantity: 1, AmountMinor: 6_000}, {SKU: "B", Quantity: 1, AmountMinor: 4_000}}}
	}
	with := func(change func(*domain.Purchase)) domain.Purchase { p := ok(); change(&p); return p }
	tests := []struct {
		name      string
		purchase  domain.Purchase
		wantField string // "" when accepted
		wantIn    string
	}{
		{"healthy", ok(), "", ""},
		{"no lines: the total stands alone", with(func(p *domain.Purchase) { p.Lines = nil }), "", ""},
		{"another accepted currency", with(func(p *domain.Purchase) { p.Currency, p.Lines = "JPY", nil }), "", ""},
		{"a currency that is none", with(func(p *domain.Purchase) { p.Currency = "ZZZ" }), "currency", "not an ISO-4217"},
		{"a currency the programme does not accept", with(func(p *domain.Purchase) { p.Currency = "USD" }), "currency", "accepts BHD, EUR, JPY"},
		{"total of int64 max", with(func(p *domain.Purchase) { p.TotalMinor, p.Lines = math.MaxInt64, nil }), "total_minor", "ceiling of 10000000 EUR"},
		{"total at the ceiling", with(func(p *domain.Purchase) { p.TotalMinor, p.Lines = 10_000_000, nil }), "", ""},
		{"total one above the ceiling", with(func(p *domain.Purchase) { p.TotalMinor, p.Lines = 10_000_001, nil }), "total_minor", "ceiling"},
		{"each currency has its ceiling", with(func(p *domain.Purchase) { p.Currency, p.TotalMinor, p.Lines = "JPY", 15_000_000, nil }), "", ""},
		{"negative total", with(func(p *domain.Purchase) { p.TotalMinor, p.Lines = -1, nil }), "total_minor", "negative"},
		{"dated 2099", with(func(p *domain.Purchase) { p.OccurredAt = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC) }), "occurred_at", "2099-01-01T00:00:00Z is in the future"},
		{"a till clock 4 minutes fast", with(func(p *domain.Purchase) { p.OccurredAt = now.Add(4 * time.Minute) }), "", ""},
		{"a till clock 6 minutes fast", with(func(p *domain.Purchase) { p.OccurredAt = now.Add(6 * time.Minute) }), "occurred_at", "future"},
		{"dated years ago (a till uploading late)", with(func(p *domain.Purchase) { p.OccurredAt = now.AddDate(-3, 0, 0) }), "", ""},
		{"lines of 1 under a total of 100,000", with(func(p *domain.Purchase) {
			p.TotalMinor, p.Lines = 100_000, []domain.Line{{SKU: "A", Quantity: 1, AmountMinor: 1}}
		}), "lines", "add up to 1 but total_minor is 100000"},
		{"lines above the total", with(func(p *domain.Purchase) { p.TotalMinor = 9_000 }), "lines", "add up to 10000"},
		{"lines within the tolerance", with(func(p *domain.Purchase) { p.TotalMinor = 10_002 }), "", ""},
		{"lines just outside the tolerance", with(func(p *domain.Purchase) { p.TotalMinor = 10_003 }), "lines", "tolerance 2"},
		{"lines that overflow", with(func(p *domain.Purchase) {
			p.Lines = []domain.Line{{SKU: "A", AmountMinor: math.MaxInt64}, {SKU: "B", AmountMinor: math.MaxInt64}}
		}), "lines", "add up beyond"},
		{"a negative line", with(func(p *domain.Purchase) { p.Lines[1].AmountMinor = -4_000 }), "lines[1].amount_minor", "negative"},
	}
	r := rules(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.CheckPurchase(tt.purchase, now)
			checkRefusal(t, err, tt.wantField, tt.wantIn)
			// A return is held to the same rules.
			p := tt.purchase
			err = r.CheckReturn(domain.Return{Key: domain.ReturnKey{StoreID: "S1", ReturnID: "R1"}, OccurredAt: p.OccurredAt,
				Currency: p.Currency, TotalMinor: p.TotalMinor, Lines: p.Lines}, now)
			checkRefusal(t, err, tt.wantField, tt.wantIn)
		})
	}
}

func checkRefusal(t *testing.T, err error, wantField, wantIn string) {
	t.Helper()
	if wantField == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var refusal *domain.Refusal
	if !errors.Is(err, domain.ErrRefused) || !errors.As(err, &refusal) {
		t.Fatalf("err = %v, want a refusal of %s", err, wantField)
	}
	if refusal.Field != wantField || !strings.Contains(refusal.Reason, wantIn) {
		t.Errorf("refusal %q, want field %s and a reason with %q", err, wantField, wantIn)
	}
}

func TestPointsPerCurrency(t *testing.T) {
	r := rules(t)
	tests := []struct {
		currency string
		minor    int64
		want     int64
	}{
		{"EUR", 1000, 10}, // 10.00 EUR at 1 per euro
		{"JPY", 1000, 10}, // 1000 yen at 0.01 per yen
		{"JPY", 99, 0},    // 0.99 points, floored
		{"BHD", 1500, 3},  // 1.500 BHD at 2 per dinar
		{"EUR", 10_000_000, 100_000},
	}
	for _, tt := range tests {
		got, err := r.Points(tt.currency, tt.minor)
		if err != nil || got != tt.want {
			t.Errorf("Points(%s, %d) = %d, %v; want %d", tt.currency, tt.minor, got, err, tt.want)
		}
	}
	if _, err := r.Points("ZZZ", 1000); !errors.Is(err, domain.ErrRefused) {
		t.Errorf("Points of ZZZ: %v, want a refusal", err)
	}
	huge, err := domain.NewPOSRules([]domain.Tender{{Currency: "JPY", PointsPerUnit: domain.MustRate(1_000_000, 1), MaxMinor: math.MaxInt64}}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := huge.Points("JPY", math.MaxInt64); !errors.Is(err, domain.ErrRefused) {
		t.Errorf("Points beyond int64 = %d, %v; want a refusal, not a capped or wrapped number", p, err)
	}
}

func TestRatePointsIn(t *testing.T) {
	tests := []struct {
		rate    domain.Rate
		minor   int64
		digits  int
		want    int64
		wantErr bool
	}{
		{domain.MustRate(1, 1), 1000, 0, 1000, false},
		{domain.MustRate(1, 1), 1000, 2, 10, false},
		{domain.MustRate(1, 1), 1000, 3, 1, false},
		{domain.MustRate(3, 2), 1999, 2, 29, false},
		{domain.MustRate(1, 1), math.MaxInt64, 0, math.MaxInt64, false},
		{domain.MustRate(2, 1), math.MaxInt64, 0, 0, true},
		{domain.MustRate(1_000_000, 1), math.MaxInt64, 2, 0, true},
		{domain.MustRate(1, 1), -5, 2, 0, false},
		{domain.MustRate(1, 1), 5, 7, 0, true},
	}
	for _, tt := range tests {
		got, err := tt.rate.PointsIn(tt.minor, tt.digits)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%v.PointsIn(%d, %d) = %d, %v; want %d, error %v", tt.rate, tt.minor, tt.digits, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNewPOSRulesRefusesBadTenders(t *testing.T) {
	one := domain.MustRate(1, 1)
	tests := map[string][]domain.Tender{
		"none":             nil,
		"unknown currency": {{Currency: "ZZZ", PointsPerUnit: one, MaxMinor: 1}},
		"lower case":       {{Currency: "eur", PointsPerUnit: one, MaxMinor: 1}},
		"no rate":          {{Currency: "EUR", MaxMinor: 1}},
		"no ceiling":       {{Currency: "EUR", PointsPerUnit: one}},
		"twice":            {{Currency: "EUR", PointsPerUnit: one, MaxMinor: 1}, {Currency: "EUR", PointsPerUnit: one, MaxMinor: 2}},
	}
	for name, tenders := range tests {
		if _, err := domain.NewPOSRules(tenders, time.Minute, 0); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := domain.NewPOSRules([]domain.Tender{{Currency: "EUR", PointsPerUnit: one, MaxMinor: 1}}, -time.Second, 0); err == nil {
		t.Error("negative clock skew accepted")
	}
	if (domain.POSRules{}).CheckPurchase(domain.Purchase{Currency: "EUR"}, time.Now()) == nil {
		t.Error("the zero rules accepted a purchase")
	}
}

func TestCheckReturnOf(t *testing.T) {
	p := domain.Purchase{Key: domain.PurchaseKey{StoreID: "S1", TransactionID: "T1"}, Currency: "EUR"}
	if err := domain.CheckReturnOf(domain.Return{Currency: "EUR"}, p); err != nil {
		t.Errorf("same currency refused: %v", err)
	}
	err := domain.CheckReturnOf(domain.Return{Currency: "JPY"}, p)
	checkRefusal(t, err, "currency", "purchase S1/T1 was in EUR")
}

func TestAddPoints(t *testing.T) {
	if got, err := domain.AddPoints(40, 2); got != 42 || err != nil {
		t.Errorf("AddPoints(40, 2) = %d, %v", got, err)
	}
	if got, err := domain.AddPoints(math.MaxInt64-1, 1); got != math.MaxInt64 || err != nil {
		t.Errorf("AddPoints to the brim = %d, %v", got, err)
	}
	if got, err := domain.AddPoints(math.MaxInt64, 1); !errors.Is(err, domain.ErrRefused) {
		t.Errorf("AddPoints past int64 = %d, %v; want a refusal", got, err)
	}
	if got, err := domain.AddPoints(math.MinInt64, -1); !errors.Is(err, domain.ErrRefused) {
		t.Errorf("AddPoints below int64 = %d, %v; want a refusal", got, err)
	}
}
