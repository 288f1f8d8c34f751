package domain_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

func TestSplitReturn(t *testing.T) {
	for _, c := range []struct {
		name                       string
		points, pending, available int64
		want                       domain.ReturnSplit
	}{
		{"in the window: from pending", 40, 100, 500, domain.ReturnSplit{FromPending: 40}},
		{"after maturity: from available", 40, 0, 500, domain.ReturnSplit{FromAvailable: 40}},
		{"pending short: the rest from available", 40, 30, 500, domain.ReturnSplit{FromPending: 30, FromAvailable: 10}},
		{"spent: a debt", 100, 0, 10, domain.ReturnSplit{FromAvailable: 10, Debt: 90}},
		{"nothing left: all debt", 100, 0, 0, domain.ReturnSplit{Debt: 100}},
		{"nothing to take", 0, 10, 10, domain.ReturnSplit{}},
	} {
		if got := domain.SplitReturn(c.points, c.pending, c.available); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestBurnSoonestExpiringFirst(t *testing.T) {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lots := []domain.Lot{
		{ID: "never", Remaining: 50, EarnedAt: day},
		{ID: "late", Remaining: 20, EarnedAt: day, ExpiresAt: day.AddDate(1, 0, 0)},
		{ID: "soon", Remaining: 10, EarnedAt: day.Add(time.Hour), ExpiresAt: day.AddDate(0, 1, 0)},
		{ID: "own", CreditTx: "c1", Remaining: 5, EarnedAt: day, ExpiresAt: day.AddDate(2, 0, 0)},
	}
	domain.SpendOrder(lots, "")
	burns, short := domain.Burn(lots, 35)
	if got := fmt.Sprint(burns); got != "[{soon 10} {late 20} {own 5}]" || short != 0 {
		t.Errorf("burns %s short %d", got, short)
	}
	domain.SpendOrder(lots, "c1")
	if lots[0].ID != "own" {
		t.Errorf("a returned purchase's own lot comes first, got %s", lots[0].ID)
	}
	if _, short := domain.Burn(lots, 100); short != 50 {
		t.Errorf("short %d, want 50 (the never-expiring lot had 50 left)", short)
	}
}

func TestNewLotsOnePerExpiry(t *testing.T) {
	earned := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	months24, _ := domain.ParseExpiryPolicy("months:24")
	year1, _ := domain.ParseExpiryPolicy("years:1")
	p := domain.LotPolicy{Expiry: months24, Location: time.UTC}
	n := 0
	id := func() string { n++; return fmt.Sprint("l", n) }
	lots := p.NewLots("m", "c", "S/T", 100, []domain.LotPart{
		{Points: 30, Expiry: year1, Override: true}, {Points: 20}, {Points: 10, Expiry: year1, Override: true},
	}, earned, time.Time{}, false, id)
	if len(lots) != 2 || lots[0].Points != 40 || lots[1].Points != 60 {
		t.Fatalf("lots %+v, want 40 under years:1 and 60 under the default", lots)
	}
	if !lots[0].ExpiresAt.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) || !lots[1].ExpiresAt.Equal(earned.AddDate(2, 0, 0)) {
		t.Errorf("expiries %v, %v", lots[0].ExpiresAt, lots[1].ExpiresAt)
	}
	if never := (domain.LotPolicy{}).NewLots("m", "c", "", 5, nil, earned, time.Time{}, false, id); never[0].Expires() {
		t.Error("the zero policy never expires")
	}
}

func TestMaturity(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	p := domain.LotPolicy{ReturnWindow: 14 * 24 * time.Hour}
	if at, pending := p.Maturity(now.Add(-time.Hour), now); !pending || !at.Equal(now.Add(14*24*time.Hour-time.Hour)) {
		t.Errorf("maturity %v %v", at, pending)
	}
	if _, pending := p.Maturity(now.AddDate(0, 0, -20), now); pending {
		t.Error("a purchase uploaded after its window is available at once")
	}
	if _, pending := (domain.LotPolicy{}).Maturity(now, now); pending {
		t.Error("no window, no pending")
	}
}

func TestRepaymentAndVoidTx(t *testing.T) {
	if domain.Repayment(50, 90) != 50 || domain.Repayment(60, 40) != 40 || domain.Repayment(10, 0) != 0 {
		t.Error("repayment takes what was credited up to the debt")
	}
	r := domain.RepayTx("t", "k", "m", "ref", time.Now(), 40)
	changes := domain.BalanceChanges([]domain.Transaction{r})
	if changes["member:m"] != -40 || changes["member:m:debt"] != -40 {
		t.Errorf("repayment changes %v", changes)
	}
	h := domain.Hold{ID: "h", MemberID: "m", Points: 30, Status: domain.StatusVoided}
	v := domain.VoidTx(h, "t", 10)
	if v.AvailableChange("m") != 20 || len(v.Postings) != 2 || v.Postings[1].Destination != domain.AccountExpired {
		t.Errorf("void of a hold whose lots partly expired: %+v", v)
	}
}
