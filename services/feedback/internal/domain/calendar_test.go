package domain_test

import (
	"errors"
	"math/rand"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// office is Monday to Friday 09:00–12:00 and 13:00–17:00 (7 hours a day) in Berlin.
func office(t *testing.T, holidays ...string) domain.Calendar {
	c := domain.Calendar{Location: berlin(t)}
	for wd := time.Monday; wd <= time.Friday; wd++ {
		c.Hours[wd] = []domain.Span{{Start: 9 * 60, End: 12 * 60}, {Start: 13 * 60, End: 17 * 60}}
	}
	for _, h := range holidays {
		c.Holidays = append(c.Holidays, domain.Holiday{Day: h, Name: "holiday"})
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func at(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, loc)
}

func TestAddBusiness(t *testing.T) {
	loc := berlin(t)
	// 2026-03-27 is a Friday; the clocks go forward on Sunday 2026-03-29.
	tests := []struct {
		name     string
		holidays []string
		from     time.Time
		d        time.Duration
		want     time.Time
	}{
		{"inside the morning span", nil, at(loc, 2026, 3, 25, 9, 0), 2 * time.Hour, at(loc, 2026, 3, 25, 11, 0)},
		{"across the lunch break", nil, at(loc, 2026, 3, 25, 11, 0), 2 * time.Hour, at(loc, 2026, 3, 25, 14, 0)},
		{"starting in the lunch break", nil, at(loc, 2026, 3, 25, 12, 30), 30 * time.Minute, at(loc, 2026, 3, 25, 13, 30)},
		{"exactly to the end of a span", nil, at(loc, 2026, 3, 25, 9, 0), 3 * time.Hour, at(loc, 2026, 3, 25, 12, 0)},
		{"exactly a business day", nil, at(loc, 2026, 3, 25, 9, 0), 7 * time.Hour, at(loc, 2026, 3, 25, 17, 0)},
		{"a minute past a business day", nil, at(loc, 2026, 3, 25, 9, 0), 7*time.Hour + time.Minute, at(loc, 2026, 3, 26, 9, 1)},
		{"before opening", nil, at(loc, 2026, 3, 25, 7, 0), time.Hour, at(loc, 2026, 3, 25, 10, 0)},
		{"after closing", nil, at(loc, 2026, 3, 25, 18, 0), time.Hour, at(loc, 2026, 3, 26, 10, 0)},
		{"across the weekend (and the clocks going forward)", nil, at(loc, 2026, 3, 27, 16, 0), 2 * time.Hour, at(loc, 2026, 3, 30, 10, 0)},
		{"starting on a Saturday", nil, at(loc, 2026, 3, 28, 8, 0), time.Hour, at(loc, 2026, 3, 30, 10, 0)},
		{"across the weekend and a Monday holiday", []string{"2026-03-30"}, at(loc, 2026, 3, 27, 16, 0), 2 * time.Hour, at(loc, 2026, 3, 31, 10, 0)},
		{"starting on a holiday", []string{"2026-03-25"}, at(loc, 2026, 3, 25, 10, 0), time.Hour, at(loc, 2026, 3, 26, 10, 0)},
		{"a holiday elsewhere changes nothing", []string{"2026-04-06"}, at(loc, 2026, 3, 25, 10, 0), time.Hour, at(loc, 2026, 3, 25, 11, 0)},
		{"a whole week with Good Friday and Easter Monday", []string{"2026-04-03", "2026-04-06"}, at(loc, 2026, 4, 1, 9, 0), 21 * time.Hour, at(loc, 2026, 4, 7, 17, 0)},
		{"zero duration outside hours", nil, at(loc, 2026, 3, 28, 3, 0), 0, at(loc, 2026, 3, 28, 3, 0)},
		{"negative duration", nil, at(loc, 2026, 3, 25, 10, 0), -time.Hour, at(loc, 2026, 3, 25, 10, 0)},
		{"from a time in another zone", nil, time.Date(2026, 3, 25, 8, 0, 0, 0, time.UTC), time.Hour, at(loc, 2026, 3, 25, 10, 0)},
		{"the clocks going back over the weekend", nil, at(loc, 2026, 10, 23, 16, 30), time.Hour, at(loc, 2026, 10, 26, 9, 30)},
		{"sub-second precision", nil, at(loc, 2026, 3, 25, 16, 59).Add(59*time.Second + 500*time.Millisecond), time.Second, at(loc, 2026, 3, 26, 9, 0).Add(500 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := office(t, tt.holidays...).AddBusiness(tt.from, tt.d)
			if !got.Equal(tt.want) {
				t.Fatalf("AddBusiness(%s, %s) = %s, want %s", tt.from, tt.d, got.In(loc), tt.want)
			}
		})
	}
}

func TestBusinessBetween(t *testing.T) {
	loc := berlin(t)
	tests := []struct {
		name     string
		holidays []string
		a, b     time.Time
		want     time.Duration
	}{
		{"one business day", nil, at(loc, 2026, 3, 25, 0, 0), at(loc, 2026, 3, 26, 0, 0), 7 * time.Hour},
		{"the lunch break counts nothing", nil, at(loc, 2026, 3, 25, 12, 0), at(loc, 2026, 3, 25, 13, 0), 0},
		{"across the lunch break", nil, at(loc, 2026, 3, 25, 11, 30), at(loc, 2026, 3, 25, 13, 30), time.Hour},
		{"a weekend counts nothing", nil, at(loc, 2026, 3, 27, 17, 0), at(loc, 2026, 3, 30, 9, 0), 0},
		{"Friday afternoon to Monday morning", nil, at(loc, 2026, 3, 27, 16, 0), at(loc, 2026, 3, 30, 10, 0), 2 * time.Hour},
		{"with a Monday holiday", []string{"2026-03-30"}, at(loc, 2026, 3, 27, 16, 0), at(loc, 2026, 3, 31, 10, 0), 2 * time.Hour},
		{"a week in which the clocks go back", nil, at(loc, 2026, 10, 19, 0, 0), at(loc, 2026, 10, 26, 0, 0), 35 * time.Hour},
		{"a week with two holidays", []string{"2026-04-03", "2026-04-06"}, at(loc, 2026, 3, 30, 0, 0), at(loc, 2026, 4, 10, 0, 0), 7 * 7 * time.Hour},
		{"empty interval", nil, at(loc, 2026, 3, 25, 10, 0), at(loc, 2026, 3, 25, 10, 0), 0},
		{"reversed interval", nil, at(loc, 2026, 3, 25, 11, 0), at(loc, 2026, 3, 25, 10, 0), 0},
		{"end is excluded, start included", nil, at(loc, 2026, 3, 25, 9, 0), at(loc, 2026, 3, 25, 9, 1), time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := office(t, tt.holidays...).BusinessBetween(tt.a, tt.b); got != tt.want {
				t.Fatalf("BusinessBetween(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// TestDaylightSavingTime: business time is real elapsed time; a span of wall-clock hours
// over a transition is longer or shorter.
func TestDaylightSavingTime(t *testing.T) {
	loc := berlin(t)
	sundays := domain.Calendar{Location: loc}
	sundays.Hours[time.Sunday] = []domain.Span{{Start: 0, End: domain.MinutesPerDay}}
	night := domain.Calendar{Location: loc}
	night.Hours[time.Sunday] = []domain.Span{{Start: 60, End: 4 * 60}}

	spring := at(loc, 2026, 3, 29, 0, 0)  // clocks go 02:00 → 03:00
	autumn := at(loc, 2026, 10, 25, 0, 0) // clocks go 03:00 → 02:00
	checks := []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"spring Sunday 00:00–24:00", sundays.BusinessBetween(spring, spring.AddDate(0, 0, 1)), 23 * time.Hour},
		{"autumn Sunday 00:00–24:00", sundays.BusinessBetween(autumn, autumn.AddDate(0, 0, 1)), 25 * time.Hour},
		{"spring Sunday 01:00–04:00", night.BusinessBetween(spring, spring.AddDate(0, 0, 1)), 2 * time.Hour},
		{"autumn Sunday 01:00–04:00", night.BusinessBetween(autumn, autumn.AddDate(0, 0, 1)), 4 * time.Hour},
		{"a normal Sunday 01:00–04:00", night.BusinessBetween(autumn.AddDate(0, 0, 7), autumn.AddDate(0, 0, 8)), 3 * time.Hour},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", c.name, c.got, c.want)
		}
	}
	if got, want := sundays.AddBusiness(spring, 23*time.Hour), at(loc, 2026, 3, 30, 0, 0); !got.Equal(want) {
		t.Errorf("23h on the spring Sunday end at %s, want %s", got, want)
	}
	if got, want := sundays.AddBusiness(autumn, 24*time.Hour), autumn.Add(24*time.Hour); !got.Equal(want) || got.In(loc).Hour() != 23 {
		t.Errorf("24h on the autumn Sunday end at %s, want %s (23:00 wall clock)", got.In(loc), want.In(loc))
	}
	if got, want := sundays.AddBusiness(autumn, 26*time.Hour), at(loc, 2026, 11, 1, 1, 0); !got.Equal(want) {
		t.Errorf("26h from the autumn Sunday end at %s, want %s", got.In(loc), want)
	}
	if got, want := night.AddBusiness(spring, 3*time.Hour), at(loc, 2026, 4, 5, 2, 0); !got.Equal(want) {
		t.Errorf("3h of the spring night end at %s, want %s", got.In(loc), want)
	}
}

func TestAlways(t *testing.T) {
	c := domain.Always()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.IsAlways() {
		t.Fatal("Always is not IsAlways")
	}
	from := time.Date(2026, 3, 28, 23, 30, 0, 0, berlin(t))
	for _, d := range []time.Duration{0, time.Nanosecond, 90 * time.Minute, 72 * time.Hour, 400 * 24 * time.Hour} {
		if got := c.AddBusiness(from, d); !got.Equal(from.Add(d)) {
			t.Errorf("AddBusiness(+%s) = %s, want %s", d, got, from.Add(d))
		}
		if got := c.BusinessBetween(from, from.Add(d)); got != d {
			t.Errorf("BusinessBetween over %s = %s", d, got)
		}
	}
	// 24x7 in a zone with DST is still all time.
	b := domain.Always()
	b.Location = berlin(t)
	spring := at(b.Location, 2026, 3, 29, 0, 0)
	if got := b.BusinessBetween(spring, spring.AddDate(0, 0, 1)); got != 23*time.Hour {
		t.Errorf("24x7 Berlin spring Sunday = %s, want 23h", got)
	}
	// With a holiday it is no longer all time, but the other days are whole.
	b.Holidays = []domain.Holiday{{Day: "2026-12-25", Name: "Christmas"}}
	if b.IsAlways() {
		t.Fatal("a calendar with a holiday is not 24x7")
	}
	eve := at(b.Location, 2026, 12, 24, 12, 0)
	if got, want := b.AddBusiness(eve, 13*time.Hour), at(b.Location, 2026, 12, 26, 1, 0); !got.Equal(want) {
		t.Errorf("over Christmas day: %s, want %s", got, want)
	}
	if got := b.BusinessBetween(eve, eve.AddDate(0, 0, 2)); got != 24*time.Hour {
		t.Errorf("two days with a holiday = %s, want 24h", got)
	}
}

func TestCalendarWithoutHours(t *testing.T) {
	var c domain.Calendar
	from := time.Date(2026, 3, 25, 10, 0, 0, 0, time.UTC)
	if got := c.AddBusiness(from, time.Hour); !got.IsZero() {
		t.Fatalf("no hours: %s, want the zero time", got)
	}
	if got := c.BusinessBetween(from, from.AddDate(0, 0, 30)); got != 0 {
		t.Fatalf("no hours: %s of business time", got)
	}
	if got := c.AddBusiness(from, 0); !got.Equal(from) {
		t.Fatalf("zero duration: %s", got)
	}
}

// TestAddBusinessInvertsBusinessBetween: for random starts and durations, the business
// time between from and AddBusiness(from, d) is d, and a moment earlier it is less.
func TestAddBusinessInvertsBusinessBetween(t *testing.T) {
	c := office(t, "2026-04-03", "2026-04-06", "2026-05-01", "2026-10-26", "2026-12-24", "2026-12-25")
	rng := rand.New(rand.NewSource(10))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3000; i++ {
		from := base.Add(time.Duration(rng.Int63n(int64(365 * 24 * time.Hour))))
		d := time.Duration(rng.Int63n(int64(60 * time.Hour)))
		end := c.AddBusiness(from, d)
		if got := c.BusinessBetween(from, end); got != d {
			t.Fatalf("from %s + %s = %s, but BusinessBetween says %s", from, d, end, got)
		}
		if d > 0 && !c.IsBusiness(end.Add(-time.Nanosecond)) {
			t.Fatalf("from %s + %s = %s, which is not the end of business time", from, d, end)
		}
	}
}

func TestCalendarValidate(t *testing.T) {
	loc := berlin(t)
	span := func(a, b int) []domain.Span { return []domain.Span{{Start: a, End: b}} }
	tests := []struct {
		name  string
		edit  func(c *domain.Calendar)
		field string
	}{
		{"no zone", func(c *domain.Calendar) { c.Location = nil }, "time_zone"},
		{"no hours at all", func(c *domain.Calendar) { c.Hours = [7][]domain.Span{} }, "hours"},
		{"end before start", func(c *domain.Calendar) { c.Hours[time.Monday] = span(600, 540) }, "hours.monday[0].end"},
		{"empty span", func(c *domain.Calendar) { c.Hours[time.Tuesday] = span(600, 600) }, "hours.tuesday[0].end"},
		{"past midnight", func(c *domain.Calendar) { c.Hours[time.Sunday] = span(600, 1441) }, "hours.sunday[0].end"},
		{"negative start", func(c *domain.Calendar) { c.Hours[time.Saturday] = span(-1, 60) }, "hours.saturday[0].start"},
		{"overlapping spans", func(c *domain.Calendar) {
			c.Hours[time.Wednesday] = []domain.Span{{Start: 540, End: 780}, {Start: 720, End: 1020}}
		}, "hours.wednesday[1]"},
		{"unsorted spans", func(c *domain.Calendar) {
			c.Hours[time.Friday] = []domain.Span{{Start: 780, End: 1020}, {Start: 540, End: 720}}
		}, "hours.friday[1]"},
		{"bad holiday", func(c *domain.Calendar) { c.Holidays = []domain.Holiday{{Day: "2026-13-01"}} }, "holidays[0].day"},
		{"repeated holiday", func(c *domain.Calendar) {
			c.Holidays = []domain.Holiday{{Day: "2026-12-25"}, {Day: "2026-12-25"}}
		}, "holidays[1].day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := office(t)
			c.Location = loc
			tt.edit(&c)
			err := c.Validate()
			var fe *domain.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, domain.ErrInvalidTeam) {
				t.Fatalf("Validate = %v, want a field error on %s", err, tt.field)
			}
		})
	}
	// Touching spans are fine: 09:00–12:00, 12:00–17:00.
	c := office(t)
	c.Hours[time.Monday] = []domain.Span{{Start: 540, End: 720}, {Start: 720, End: 1020}}
	if err := c.Validate(); err != nil {
		t.Fatalf("touching spans: %v", err)
	}
}

func TestParseHHMM(t *testing.T) {
	good := map[string]int{"00:00": 0, "09:30": 570, "23:59": 1439, "24:00": 1440}
	for s, want := range good {
		if got, err := domain.ParseHHMM(s); err != nil || got != want {
			t.Errorf("ParseHHMM(%q) = %d, %v; want %d", s, got, err, want)
		}
		if back := domain.FormatHHMM(want); back != s {
			t.Errorf("FormatHHMM(%d) = %q, want %q", want, back, s)
		}
	}
	for _, s := range []string{"", "9:30", "09:60", "24:01", "25:00", "09-30", "+9:30", "09:+5", "0930", "09:30:00", "ab:cd", " 9:30"} {
		if _, err := domain.ParseHHMM(s); err == nil {
			t.Errorf("ParseHHMM(%q) accepted", s)
		}
	}
}
