package domain_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "1", want: "1"},
		{in: "1.5", want: "3/2"},
		{in: "0.25", want: "1/4"},
		{in: "2.000", want: "2"},
		{in: ".5", want: "1/2"},
		{in: "0", want: "0"},
		{in: " 3 ", want: "3"},
		{in: "", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "1.", wantErr: true},
		{in: "1.2345678", wantErr: true}, // more than 6 decimals
		{in: "abc", wantErr: true},
		{in: "1e3", wantErr: true},
		{in: "99999999999999999999", wantErr: true},
	}
	for _, tt := range tests {
		r, err := domain.ParseRate(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseRate(%q) = %v, want an error", tt.in, r)
			}
			continue
		}
		if err != nil || r.String() != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %s", tt.in, r, err, tt.want)
		}
	}
}

func TestRatePoints(t *testing.T) {
	one, oneAndHalf, quarter := domain.MustRate(1, 1), domain.MustRate(3, 2), domain.MustRate(1, 4)
	tests := []struct {
		name  string
		rate  domain.Rate
		minor int64
		want  int64
	}{
		{"whole units", one, 12300, 123},
		{"cents are floored", one, 12399, 123},
		{"below one unit earns nothing", one, 99, 0},
		{"zero", one, 0, 0},
		{"negative earns nothing", one, -500, 0},
		{"1.5 per unit", oneAndHalf, 1000, 15},
		{"1.5 per unit floors once, at the end", oneAndHalf, 199, 2}, // 1.99 * 1.5 = 2.985
		{"0.25 per unit", quarter, 1000, 2},                          // 10 * 0.25 = 2.5
		{"zero rate", domain.MustRate(0, 1), 10000, 0},
		{"huge amount does not overflow", domain.MustRate(1_000_000, 1), math.MaxInt64, math.MaxInt64},
		{"largest exact", one, math.MaxInt64, math.MaxInt64 / 100},
	}
	for _, tt := range tests {
		if got := tt.rate.Points(tt.minor); got != tt.want {
			t.Errorf("%s: Points(%d) at %v = %d, want %d", tt.name, tt.minor, tt.rate, got, tt.want)
		}
	}
}

func TestReturnPoints(t *testing.T) {
	one := domain.MustRate(1, 1)
	tests := []struct {
		name                       string
		refund, credited, returned int64
		want                       int64
	}{
		{"part of the purchase", 2500, 100, 0, 25},
		{"all of it", 10000, 100, 0, 100},
		{"capped at what was credited", 50000, 100, 0, 100},
		{"capped at what earlier returns left", 5000, 100, 70, 30},
		{"nothing left", 5000, 100, 100, 0},
		{"more returned than credited (a return booked before its purchase)", 5000, 100, 130, 0},
		{"nothing credited (anonymous purchase)", 5000, 0, 0, 0},
		{"refund below a unit", 50, 100, 0, 0},
	}
	for _, tt := range tests {
		if got := domain.ReturnPoints(one.Points(tt.refund), tt.credited, tt.returned); got != tt.want {
			t.Errorf("%s: ReturnPoints = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestSplitDebit(t *testing.T) {
	tests := []struct {
		name                       string
		points, available          int64
		wantDebited, wantShortfall int64
	}{
		{"member has enough", 30, 100, 30, 0},
		{"member has exactly enough", 100, 100, 100, 0},
		{"member spent some", 100, 40, 40, 60},
		{"member spent all", 100, 0, 0, 100},
		{"nothing to debit", 0, 50, 0, 0},
		{"never below zero even if the balance were", 10, -5, 0, 10},
	}
	for _, tt := range tests {
		d, s := domain.SplitDebit(tt.points, tt.available)
		if d != tt.wantDebited || s != tt.wantShortfall {
			t.Errorf("%s: SplitDebit(%d, %d) = %d, %d; want %d, %d", tt.name, tt.points, tt.available, d, s, tt.wantDebited, tt.wantShortfall)
		}
	}
}

func TestCanonicalUUID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0190f0c2-7b1e-7c3a-9d4e-1a2b3c4d5e6f", "0190f0c2-7b1e-7c3a-9d4e-1a2b3c4d5e6f", true},
		{"0190F0C2-7B1E-7C3A-9D4E-1A2B3C4D5E6F", "0190f0c2-7b1e-7c3a-9d4e-1a2b3c4d5e6f", true},
		{"0190f0c27b1e7c3a9d4e1a2b3c4d5e6f", "0190f0c2-7b1e-7c3a-9d4e-1a2b3c4d5e6f", true},
		{"", "", false},
		{"card-12345", "", false},
		{"0190f0c2-7b1e-7c3a-9d4e-1a2b3c4d5e6g", "", false},
		{"0190f0c2x7b1e-7c3a-9d4e-1a2b3c4d5e6f", "", false},
	}
	for _, tt := range tests {
		got, ok := domain.CanonicalUUID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalUUID(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHoldLife(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	placed := func() domain.Hold {
		return domain.NewHold("h1", domain.HoldRequest{MemberID: "m1", Points: 10, TTL: time.Minute}, now)
	}
	with := func(status domain.HoldStatus) domain.Hold { h := placed(); h.Status = status; return h }
	tests := []struct {
		name        string
		hold        domain.Hold
		act         func(*domain.Hold) (bool, error)
		wantChanged bool
		wantErr     error
		wantStatus  domain.HoldStatus
	}{
		{"capture placed", placed(), func(h *domain.Hold) (bool, error) { return h.Capture(now.Add(time.Second)) }, true, nil, domain.StatusCaptured},
		{"capture captured is a no-op", with(domain.StatusCaptured), func(h *domain.Hold) (bool, error) { return h.Capture(now) }, false, nil, domain.StatusCaptured},
		{"capture voided", with(domain.StatusVoided), func(h *domain.Hold) (bool, error) { return h.Capture(now) }, false, domain.ErrHoldNotOpen, domain.StatusVoided},
		{"capture expired", with(domain.StatusExpired), func(h *domain.Hold) (bool, error) { return h.Capture(now) }, false, domain.ErrHoldNotOpen, domain.StatusExpired},
		{"capture past expiry", placed(), func(h *domain.Hold) (bool, error) { return h.Capture(now.Add(time.Minute)) }, false, domain.ErrHoldNotOpen, domain.StatusPlaced},
		{"void placed", placed(), func(h *domain.Hold) (bool, error) { return h.Void(now, "changed mind") }, true, nil, domain.StatusVoided},
		{"void past expiry", placed(), func(h *domain.Hold) (bool, error) { return h.Void(now.Add(time.Hour), "late") }, true, nil, domain.StatusVoided},
		{"void voided is a no-op", with(domain.StatusVoided), func(h *domain.Hold) (bool, error) { return h.Void(now, "again") }, false, nil, domain.StatusVoided},
		{"void expired is a no-op", with(domain.StatusExpired), func(h *domain.Hold) (bool, error) { return h.Void(now, "again") }, false, nil, domain.StatusExpired},
		{"void captured", with(domain.StatusCaptured), func(h *domain.Hold) (bool, error) { return h.Void(now, "too late") }, false, domain.ErrHoldNotOpen, domain.StatusCaptured},
		{"expire before expiry", placed(), func(h *domain.Hold) (bool, error) { return h.Expire(now.Add(59 * time.Second)), nil }, false, nil, domain.StatusPlaced},
		{"expire at expiry", placed(), func(h *domain.Hold) (bool, error) { return h.Expire(now.Add(time.Minute)), nil }, true, nil, domain.StatusExpired},
		{"expire captured", with(domain.StatusCaptured), func(h *domain.Hold) (bool, error) { return h.Expire(now.Add(time.Hour)), nil }, false, nil, domain.StatusCaptured},
	}
	for _, tt := range tests {
		h := tt.hold
		changed, err := tt.act(&h)
		if changed != tt.wantChanged || !errors.Is(err, tt.wantErr) || h.Status != tt.wantStatus {
			t.Errorf("%s: changed %v, err %v, status %s; want %v, %v, %s", tt.name, changed, err, h.Status, tt.wantChanged, tt.wantErr, tt.wantStatus)
		}
	}
}

func TestHoldTransactions(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := domain.NewHold("h1", domain.HoldRequest{MemberID: "m1", Points: 10, TTL: time.Minute}, now)
	place := h.PlaceTx("t1")
	if got := place.AvailableChange("m1"); got != -10 {
		t.Errorf("placing changes available by %d, want -10", got)
	}
	captured := h
	if _, err := captured.Capture(now); err != nil {
		t.Fatal(err)
	}
	capture := captured.CloseTx("t2")
	if capture.Postings[0] != (domain.Posting{Source: "member:m1:hold", Destination: domain.AccountRedeemed, Amount: 10}) || capture.AvailableChange("m1") != 0 {
		t.Errorf("capture transaction %+v", capture)
	}
	voided := h
	if _, err := voided.Void(now, "x"); err != nil {
		t.Fatal(err)
	}
	if void := voided.CloseTx("t3"); void.AvailableChange("m1") != 10 || void.IdempotencyKey != "void:h1" {
		t.Errorf("void transaction %+v", void)
	}
	changes := domain.BalanceChanges([]domain.Transaction{place, capture})
	want := map[string]int64{"member:m1": -10} // the hold account went up and down again
	if len(changes) != len(want) || changes["member:m1"] != -10 {
		t.Errorf("BalanceChanges = %v, want %v (programme accounts have no stored balance)", changes, want)
	}
}

func TestEnrolmentHash(t *testing.T) {
	a := domain.Enrolment{DisplayName: "Ada", Email: "Ada@Example.com"}
	b := domain.Enrolment{DisplayName: " Ada ", Email: "ada@example.com", Locale: "en"}
	if a.Hash() != b.Hash() {
		t.Error("requests that mean the same must hash the same")
	}
	c := a
	c.MarketingConsent = true
	if a.Hash() == c.Hash() {
		t.Error("a different consent must hash differently")
	}
	if domain.RequestHash("ab", "c") == domain.RequestHash("a", "bc") {
		t.Error("RequestHash must separate its parts")
	}
}

func TestMemberErase(t *testing.T) {
	enrolled := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := domain.NewMember("0190a0b0-0000-7000-8000-000000000001", domain.Enrolment{
		DisplayName: "Greta", Email: "greta@example.com", Locale: "sv-SE", SurveyConsent: true, MarketingConsent: true,
	}, enrolled)
	if m.Erased() {
		t.Fatal("a new member is erased")
	}
	at := enrolled.Add(time.Hour)
	if !m.Erase(at, "request #1") {
		t.Fatal("Erase reported no change")
	}
	want := domain.Member{ID: m.ID, Locale: "sv-SE", Tier: domain.DefaultTier, EnrolledAt: enrolled, ErasedAt: at, ErasureReason: "request #1",
		ReferralCode: m.ReferralCode}
	if m != want || !m.Erased() {
		t.Errorf("erased member %+v, want %+v", m, want)
	}
	if m.Erase(at.Add(time.Hour), "request #2") || m != want {
		t.Errorf("erasing again changed the member to %+v", m)
	}
}
