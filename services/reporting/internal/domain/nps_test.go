package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestNpsScore(t *testing.T) {
	tests := []struct {
		name   string
		counts NpsCounts
		want   float64
	}{
		{"5 promoters, 3 passives, 2 detractors", NpsCounts{Promoters: 5, Passives: 3, Detractors: 2}, 30},
		{"no responses", NpsCounts{}, 0},
		{"only promoters", NpsCounts{Promoters: 4}, 100},
		{"only detractors", NpsCounts{Detractors: 7}, -100},
		{"only passives", NpsCounts{Passives: 3}, 0},
		{"a third", NpsCounts{Promoters: 1, Passives: 2}, 100.0 / 3},
		{"negative", NpsCounts{Promoters: 1, Passives: 1, Detractors: 2}, -25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.counts.Score(); got != tt.want {
				t.Errorf("Score() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassifyScore(t *testing.T) {
	tests := []struct {
		score   int
		want    NpsClass
		wantErr bool
	}{
		{0, Detractor, false}, {6, Detractor, false}, {7, Passive, false}, {8, Passive, false},
		{9, Promoter, false}, {10, Promoter, false}, {-1, 0, true}, {11, 0, true},
	}
	for _, tt := range tests {
		got, err := ClassifyScore(tt.score)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ClassifyScore(%d) = %v, %v; want %v, error %v", tt.score, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("ClassifyScore(%d) error %v is not ErrInvalidEvent", tt.score, err)
		}
	}
}

func TestNewResponse(t *testing.T) {
	at := time.Date(2026, 3, 4, 23, 30, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name    string
		score   int
		class   NpsClass
		at      time.Time
		want    NpsClass
		wantErr bool
	}{
		{"score decides without a class", 9, 0, at, Promoter, false},
		{"the survey's class wins", 9, Passive, at, Passive, false},
		{"no time", 9, 0, time.Time{}, 0, true},
		{"score out of range", 12, 0, at, 0, true},
		{"unknown class", 5, 7, at, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewResponse(tt.score, tt.class, "PURCHASE", "s1", tt.at)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidEvent) {
					t.Fatalf("err = %v, want ErrInvalidEvent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Class != tt.want {
				t.Errorf("class = %v, want %v", r.Class, tt.want)
			}
			// 23:30 CET is 22:30 UTC, the same UTC day.
			if want := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC); !r.Day.Equal(want) {
				t.Errorf("day = %v, want %v", r.Day, want)
			}
		})
	}
}

func TestTallyResponses(t *testing.T) {
	d1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	got := TallyResponses([]Response{
		{Day: d2, Touchpoint: "PURCHASE", StoreID: "s1", Class: Promoter},
		{Day: d1, Touchpoint: "WEB_VISIT", Class: Detractor},
		{Day: d2, Touchpoint: "PURCHASE", StoreID: "s1", Class: Detractor},
		{Day: d1, Touchpoint: "PURCHASE", StoreID: "s2", Class: Passive},
		{Day: d2, Touchpoint: "PURCHASE", StoreID: "s1", Class: Promoter},
	})
	want := []NpsCell{
		{Day: d1, Touchpoint: "PURCHASE", StoreID: "s2", NpsCounts: NpsCounts{Passives: 1}},
		{Day: d1, Touchpoint: "WEB_VISIT", NpsCounts: NpsCounts{Detractors: 1}},
		{Day: d2, Touchpoint: "PURCHASE", StoreID: "s1", NpsCounts: NpsCounts{Promoters: 2, Detractors: 1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TallyResponses =\n%+v\nwant\n%+v", got, want)
	}
}

func TestNewPeriod(t *testing.T) {
	now := time.Date(2026, 5, 31, 15, 0, 0, 0, time.UTC)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	ptr := func(t time.Time) *time.Time { return &t }
	tests := []struct {
		name     string
		from, to *time.Time
		want     Period
		wantErr  error
	}{
		{"defaults", nil, nil, Period{From: day(5, 1), To: day(5, 31)}, nil},
		{"only to", nil, ptr(day(4, 30).Add(5 * time.Hour)), Period{From: day(3, 31), To: day(4, 30)}, nil},
		{"only from", ptr(day(5, 20)), nil, Period{From: day(5, 20), To: day(5, 31)}, nil},
		{"one day", ptr(day(5, 2).Add(time.Hour)), ptr(day(5, 2).Add(20 * time.Hour)), Period{From: day(5, 2), To: day(5, 2)}, nil},
		{"reversed", ptr(day(5, 3)), ptr(day(5, 2)), Period{}, ErrPeriodReversed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewPeriod(tt.from, tt.to, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("NewPeriod = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDailySeriesFillsGaps(t *testing.T) {
	r := NpsReport{
		Period: Period{From: time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
		ByDay:  []NpsGroup{{Key: "2026-02-28", NpsCounts: NpsCounts{Promoters: 2}}},
	}
	got := r.DailySeries()
	want := []NpsGroup{
		{Key: "2026-02-27"}, {Key: "2026-02-28", NpsCounts: NpsCounts{Promoters: 2}}, {Key: "2026-03-01"}, {Key: "2026-03-02"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DailySeries = %+v, want %+v", got, want)
	}
}

func TestScoredResponses(t *testing.T) {
	at := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		kind  ScoreKind
		score int
		class NpsClass
		ok    bool
	}{
		{"", 7, 0, true}, {KindNPS, 10, Promoter, true}, {KindNPS, 11, 0, false},
		{KindCSAT, 1, 0, true}, {KindCSAT, 5, 0, true}, {KindCSAT, 0, 0, false}, {KindCSAT, 6, 0, false}, {KindCSAT, 2, Detractor, false},
		{KindCES, 1, 0, true}, {KindCES, 7, 0, true}, {KindCES, 8, 0, false}, {"STARS", 3, 0, false},
	} {
		r, err := NewScoredResponse(c.kind, c.score, c.class, "PURCHASE", "s1", at)
		if (err == nil) != c.ok {
			t.Errorf("%q %d class %d: %v, want ok %v", c.kind, c.score, c.class, err, c.ok)
		}
		if err == nil && c.kind == "" && (r.Kind != KindNPS || r.Class != Passive) {
			t.Errorf("an unspecified kind is NPS: %+v", r)
		}
	}
}

func TestTallyScoresKeepsKindsApart(t *testing.T) {
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	r := func(kind ScoreKind, score int, store string) Response {
		x, err := NewScoredResponse(kind, score, 0, "SERVICE_CALL", store, day.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	batch := []Response{r(KindCSAT, 5, "s1"), r(KindCSAT, 4, "s1"), r(KindCSAT, 2, "s1"), r(KindCSAT, 3, "s2"),
		r(KindCES, 7, "s1"), r(KindCES, 3, "s1"), r(KindNPS, 9, "s1")}
	got := TallyScores(batch)
	want := []ScoreCell{
		{Day: day, Touchpoint: "SERVICE_CALL", StoreID: "s1", Kind: KindCES, ScoreCounts: ScoreCounts{Responses: 2, ScoreSum: 10, Favourable: 1}},
		{Day: day, Touchpoint: "SERVICE_CALL", StoreID: "s1", Kind: KindCSAT, ScoreCounts: ScoreCounts{Responses: 3, ScoreSum: 11, Favourable: 2}},
		{Day: day, Touchpoint: "SERVICE_CALL", StoreID: "s2", Kind: KindCSAT, ScoreCounts: ScoreCounts{Responses: 1, ScoreSum: 3}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TallyScores =\n%+v\nwant\n%+v", got, want)
	}
	if nps := TallyResponses(batch); len(nps) != 1 || nps[0].Promoters != 1 || nps[0].Responses() != 1 {
		t.Errorf("TallyResponses counts the NPS answer only: %+v", nps)
	}
	c := want[1].ScoreCounts
	if c.FavourableShare() != 2.0/3 || c.Average() != 11.0/3 || (ScoreCounts{}).Average() != 0 || (ScoreCounts{}).FavourableShare() != 0 {
		t.Errorf("CSAT share %v, average %v", c.FavourableShare(), c.Average())
	}
}
