package domain

import (
	"errors"
	"testing"
	"time"
)

func programme() TierProgramme {
	return TierProgramme{
		Basis: BasisRolling, WindowMonths: 12, Grace: 30 * 24 * time.Hour, Currency: "EUR",
		Tiers: []Tier{
			{Code: "bronze", Name: "Bronze", Rank: 1},
			{Code: "silver", Name: "Silver", Rank: 2, MinPoints: 1000, MinSpendMinor: 50_000},
			{Code: "gold", Name: "Gold", Rank: 3, MinPoints: 5000},
		},
	}
}

func TestTierProgrammeValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*TierProgramme)
		field string
	}{
		{"valid", func(*TierProgramme) {}, ""},
		{"unordered input is sorted by rank", func(p *TierProgramme) { p.Tiers[0], p.Tiers[2] = p.Tiers[2], p.Tiers[0] }, ""},
		{"unknown basis", func(p *TierProgramme) { p.Basis = "weekly" }, "basis"},
		{"rolling without window", func(p *TierProgramme) { p.WindowMonths = 0 }, "window_months"},
		{"calendar year with window", func(p *TierProgramme) { p.Basis = BasisCalendarYear }, "window_months"},
		{"negative grace", func(p *TierProgramme) { p.Grace = -time.Hour }, "grace_period"},
		{"no tiers", func(p *TierProgramme) { p.Tiers = nil }, "tiers"},
		{"bad code", func(p *TierProgramme) { p.Tiers[1].Code = "Silver!" }, "tiers[1].code"},
		{"duplicate code", func(p *TierProgramme) { p.Tiers[2].Code = "silver" }, "tiers[2].code"},
		{"duplicate rank", func(p *TierProgramme) { p.Tiers[2].Rank = 2 }, "tiers[2].rank"},
		{"base with threshold", func(p *TierProgramme) { p.Tiers[0].MinPoints = 10 }, "tiers[0].min_points"},
		{"upper without threshold", func(p *TierProgramme) { p.Tiers[2].MinPoints = 0 }, "tiers[2].min_points"},
		{"overlapping points", func(p *TierProgramme) { p.Tiers[2].MinPoints = 1000 }, "tiers[2].min_points"},
		{"unordered points", func(p *TierProgramme) { p.Tiers[2].MinPoints = 500 }, "tiers[2].min_points"},
		{"unordered spend across a gap", func(p *TierProgramme) { p.Tiers[2].MinSpendMinor = 40_000 }, "tiers[2].min_spend_minor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := programme()
			tc.edit(&p)
			err := p.Validate()
			var te *TierError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.field == "":
				if p.Tiers[0].Code != "bronze" || p.Tiers[2].Code != "gold" {
					t.Fatalf("tiers not sorted by rank: %+v", p.Tiers)
				}
			case !errors.As(err, &te):
				t.Fatalf("Validate = %v, want a TierError on %s", err, tc.field)
			case te.Field != tc.field:
				t.Fatalf("Validate named %s (%v), want %s", te.Field, err, tc.field)
			}
		})
	}
}

func TestPeriodStart(t *testing.T) {
	now := time.Date(2026, 3, 17, 12, 0, 0, 0, time.UTC)
	p := programme()
	if got, want := p.PeriodStart(now), time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("rolling 12: %v, want %v", got, want)
	}
	p.Basis, p.WindowMonths = BasisCalendarYear, 0
	if got, want := p.PeriodStart(now), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("calendar year: %v, want %v", got, want)
	}
}

func TestUpgradeAtOnce(t *testing.T) {
	p, now := programme(), time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	due := now.Add(24 * time.Hour)
	for _, tc := range []struct {
		name    string
		s       TierState
		to      string
		reason  TierChangeReason
		due     time.Time
		changed bool
	}{
		{"below silver", TierState{Tier: "bronze", Figures: Figures{Points: 999}}, "", "", time.Time{}, false},
		{"points reach silver", TierState{Tier: "bronze", Figures: Figures{Points: 1000}}, "silver", TierUpgrade, time.Time{}, true},
		{"spend reaches silver", TierState{Tier: "bronze", Figures: Figures{SpendMinor: 50_000}}, "silver", TierUpgrade, time.Time{}, true},
		{"straight to gold", TierState{Tier: "bronze", Figures: Figures{Points: 6000}}, "gold", TierUpgrade, time.Time{}, true},
		{"never lowers", TierState{Tier: "gold", Figures: Figures{Points: 10}}, "", "", time.Time{}, false},
		{"requalifying forgets the downgrade", TierState{Tier: "gold", DowngradeDue: due, Figures: Figures{Points: 5000}}, "", "", time.Time{}, true},
		{"keeps a downgrade still due", TierState{Tier: "gold", DowngradeDue: due, Figures: Figures{Points: 10}}, "", "", due, false},
		{"undefined tier is placed", TierState{Tier: DefaultTier, Figures: Figures{Points: 1200}}, "silver", TierRedefined, time.Time{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, changed := p.UpgradeAtOnce(tc.s, now)
			if changed != tc.changed || d.To != tc.to || d.Reason != tc.reason || !d.DowngradeDue.Equal(tc.due) {
				t.Fatalf("got %+v changed=%v, want to=%q reason=%q due=%v changed=%v", d, changed, tc.to, tc.reason, tc.due, tc.changed)
			}
		})
	}
	if _, changed := (TierProgramme{}).UpgradeAtOnce(TierState{Tier: DefaultTier, Figures: Figures{Points: 1e6}}, now); changed {
		t.Fatal("a programme without tiers changed a member")
	}
}

func TestEvaluateDowngradesAfterGrace(t *testing.T) {
	p, now := programme(), time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	s := TierState{MemberID: "m", Tier: "gold", Figures: Figures{Points: 1500}}

	d, changed := p.Evaluate(s, now)
	if !changed || d.Changed() || !d.DowngradeDue.Equal(now.Add(p.Grace)) {
		t.Fatalf("first evaluation: %+v, want a downgrade due at %v and no change of tier", d, now.Add(p.Grace))
	}
	s.DowngradeDue = d.DowngradeDue

	if d, changed := p.Evaluate(s, now.Add(p.Grace-time.Second)); changed {
		t.Fatalf("evaluation inside the grace changed %+v", d)
	}
	d, changed = p.Evaluate(s, now.Add(p.Grace))
	if !changed || d.To != "silver" || d.Reason != TierDowngrade || !d.DowngradeDue.IsZero() {
		t.Fatalf("evaluation at the end of the grace: %+v, want downgrade to silver", d)
	}
	// Requalified inside the grace: the date is forgotten, the tier kept.
	s.Figures.Points = 5000
	d, changed = p.Evaluate(s, now.Add(time.Hour))
	if !changed || d.Changed() || !d.DowngradeDue.IsZero() {
		t.Fatalf("requalified: %+v", d)
	}
	// Without grace the downgrade is at once.
	p.Grace = 0
	s.DowngradeDue, s.Figures.Points = time.Time{}, 0
	if d, _ := p.Evaluate(s, now); d.To != "bronze" || d.Reason != TierDowngrade {
		t.Fatalf("no grace: %+v, want bronze at once", d)
	}
}

func TestManualTierFloorAndExpiry(t *testing.T) {
	p, now := programme(), time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	until := now.AddDate(0, 3, 0)
	s := TierState{MemberID: "m", Tier: "bronze"}

	d, err := p.ManualTier(s, "gold", until, now)
	if err != nil || d.To != "gold" || d.Reason != TierManual || d.ManualTier != "gold" || !d.ManualUntil.Equal(until) {
		t.Fatalf("ManualTier: %+v %v", d, err)
	}
	s = TierState{MemberID: "m", Tier: "gold", ManualTier: "gold", ManualUntil: until}
	// The floor holds: no downgrade date while it lasts.
	if d, changed := p.Evaluate(s, now.AddDate(0, 1, 0)); changed {
		t.Fatalf("evaluation under the floor changed %+v", d)
	}
	// It expires: the member goes where the figures are, at once.
	s.Figures.Points = 1200
	d, changed := p.Evaluate(s, until)
	if !changed || d.To != "silver" || d.Reason != TierManualExpired || d.ManualTier != "" {
		t.Fatalf("expiry: %+v", d)
	}
	// A floor below the member's tier changes nothing now, and stops the fall at it.
	s = TierState{MemberID: "m", Tier: "gold"}
	d, err = p.ManualTier(s, "silver", until, now)
	if err != nil || d.Changed() || d.ManualTier != "silver" {
		t.Fatalf("floor below: %+v %v", d, err)
	}
	s.ManualTier, s.ManualUntil, s.DowngradeDue = "silver", until, now
	if d, _ := p.Evaluate(s, now); d.To != "silver" || d.Reason != TierDowngrade {
		t.Fatalf("fall stopped at the floor: %+v", d)
	}
	// Refusals name the field.
	var te *TierError
	if _, err := p.ManualTier(s, "platinum", until, now); !errors.As(err, &te) || te.Field != "tier" {
		t.Fatalf("unknown tier: %v", err)
	}
	if _, err := p.ManualTier(s, "gold", now, now); !errors.As(err, &te) || te.Field != "expires_at" {
		t.Fatalf("past expiry: %v", err)
	}
}

func TestStatusProgressAndSafeUntil(t *testing.T) {
	p, now := programme(), time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	month := func(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC) }
	s := TierState{
		MemberID: "m", Tier: "silver", Figures: Figures{Points: 1300, SpendMinor: 20_000},
		FiguresMonths: []MonthFigures{
			{month(2025, 5), Figures{Points: 800, SpendMinor: 10_000}},
			{month(2026, 2), Figures{Points: 500, SpendMinor: 10_000}},
		},
	}
	st := p.Status(s, now)
	if st.Tier.Name != "Silver" || st.Progress.Next != "gold" || st.Progress.PointsNeeded == nil || *st.Progress.PointsNeeded != 3700 ||
		st.Progress.SpendNeededMinor != nil {
		t.Fatalf("progress: %+v", st)
	}
	// May 2025 drops out of the rolling 12 (+ current) months on 1 June 2026: 500 < 1000.
	if want := month(2026, 6).Add(p.Grace); !st.SafeUntil.Equal(want) {
		t.Fatalf("safe until %v, want %v", st.SafeUntil, want)
	}
	// A scheduled downgrade is the date; a longer manual floor extends it.
	s.DowngradeDue = now.AddDate(0, 0, 10)
	if st := p.Status(s, now); !st.SafeUntil.Equal(s.DowngradeDue) {
		t.Fatalf("safe until %v, want the downgrade date %v", st.SafeUntil, s.DowngradeDue)
	}
	s.ManualTier, s.ManualUntil = "silver", now.AddDate(1, 0, 0)
	if st := p.Status(s, now); !st.SafeUntil.Equal(s.ManualUntil) {
		t.Fatalf("safe until %v, want the floor's end %v", st.SafeUntil, s.ManualUntil)
	}
	// The base tier is safe for good; the top has no next tier.
	if st := p.Status(TierState{Tier: "bronze"}, now); !st.SafeUntil.IsZero() || st.Progress.Next != "silver" {
		t.Fatalf("base: %+v", st)
	}
	if st := p.Status(TierState{Tier: "gold", Figures: Figures{Points: 9000}}, now); st.Progress.Next != "" {
		t.Fatalf("top: %+v", st)
	}
}

func TestSumQualifying(t *testing.T) {
	jan := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	got := SumQualifying([]Qualifying{
		{MemberID: "b", Month: jan, Points: 10, SpendMinor: 1000},
		{MemberID: "a", Month: jan.AddDate(0, 0, 20), Points: 5},
		{MemberID: "b", Month: jan.AddDate(0, 0, 3), Points: -10, SpendMinor: -1000},
		{MemberID: "a", Month: jan, Points: 1},
	})
	if len(got) != 1 || got[0].MemberID != "a" || got[0].Points != 6 || !got[0].Month.Equal(MonthOf(jan)) {
		t.Fatalf("SumQualifying = %+v", got)
	}
}

func TestCalendarYear(t *testing.T) {
	p := programme()
	p.Basis, p.WindowMonths = BasisCalendarYear, 0
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	s := TierState{Tier: "silver", Figures: Figures{Points: 1200},
		FiguresMonths: []MonthFigures{{time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Figures{Points: 1200}}}}
	// The year's figures count until 31 December: safe until 1 January plus the grace.
	if st, want := p.Status(s, now), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Add(p.Grace); !st.SafeUntil.Equal(want) {
		t.Fatalf("safe until %v, want %v", st.SafeUntil, want)
	}
	if got := p.PeriodStart(now); !got.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("period start %v", got)
	}
}

func TestManualTierRemoved(t *testing.T) {
	p, now := programme(), time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	s := TierState{MemberID: "m", Tier: "gold", ManualTier: "gold", ManualUntil: now.AddDate(0, 1, 0)}
	d, err := p.ManualTier(s, "", time.Time{}, now)
	if err != nil || d.Changed() || d.ManualTier != "" || !d.ManualUntil.IsZero() {
		t.Fatalf("removing the floor: %+v %v", d, err)
	}
	// Without it the member is evaluated as anyone: a downgrade date, not a fall at once.
	s.ManualTier, s.ManualUntil = "", time.Time{}
	if d, _ := p.Evaluate(s, now); d.Changed() || !d.DowngradeDue.Equal(now.Add(p.Grace)) {
		t.Fatalf("after removal: %+v", d)
	}
}

// A decision on a clock older than the one that scheduled a downgrade changes nothing.
func TestStaleClockKeepsTheDowngradeDate(t *testing.T) {
	p, now := programme(), time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	s := TierState{Tier: "silver", DowngradeDue: now.Add(p.Grace), Figures: Figures{Points: 1000}}
	if d, changed := p.Evaluate(s, now.Add(-time.Second)); changed {
		t.Fatalf("stale evaluation changed %+v", d)
	}
	if d, changed := p.Evaluate(s, now); !changed || !d.DowngradeDue.IsZero() {
		t.Fatalf("current evaluation of a requalified member: %+v", d)
	}
}

// A decision carries the standing it was taken on, for the store's guard.
func TestDecisionCarriesItsStanding(t *testing.T) {
	p, now := programme(), time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	s := TierState{MemberID: "m", Tier: "bronze"}
	d, err := p.ManualTier(s, "gold", now.AddDate(0, 1, 0), now)
	if err != nil || d.Was.ManualTier != "" || d.Was.Tier != "bronze" {
		t.Fatalf("ManualTier decided on %+v, want the standing before it", d.Was)
	}
	s.Figures.Points = 1000
	if d, _ := p.UpgradeAtOnce(s, now); d.Was.Tier != "bronze" || d.To != "silver" {
		t.Fatalf("UpgradeAtOnce: %+v", d)
	}
}
