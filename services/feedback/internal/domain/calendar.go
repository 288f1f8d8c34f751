package domain

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// MinutesPerDay is the end of the last possible span of a day (24:00).
const MinutesPerDay = 24 * 60

// Span is a stretch of business hours within one day, in wall-clock minutes from
// midnight in the calendar's time zone: [Start, End), 0 <= Start < End <= 1440 (24:00).
type Span struct{ Start, End int }

// String is the span as "HH:MM-HH:MM".
func (s Span) String() string { return FormatHHMM(s.Start) + "-" + FormatHHMM(s.End) }

// Holiday is a day (in the calendar's time zone) without business hours.
type Holiday struct {
	// Day is the civil date, "YYYY-MM-DD".
	Day  string
	Name string
}

// Calendar is business hours per weekday in a time zone, with holidays. Business time is
// real elapsed time inside the spans: a span 00:00–24:00 on the day the clocks go
// forward is 23 hours long, on the day they go back 25 hours.
type Calendar struct {
	// Location is the time zone of the hours and holidays; nil means UTC.
	Location *time.Location
	// Hours are the spans of each weekday, indexed by time.Weekday (Sunday = 0), sorted
	// and not overlapping (see Validate).
	Hours [7][]Span
	// Holidays are days without business hours.
	Holidays []Holiday
}

// Always is the 24x7 calendar in UTC without holidays, the default of a team.
func Always() Calendar {
	var c Calendar
	c.Location = time.UTC
	for d := range c.Hours {
		c.Hours[d] = []Span{{0, MinutesPerDay}}
	}
	return c
}

// IsAlways reports whether business time is all time (every day 00:00–24:00, no
// holidays), whatever the zone.
func (c Calendar) IsAlways() bool {
	if len(c.Holidays) > 0 {
		return false
	}
	for _, spans := range c.Hours {
		if len(spans) != 1 || spans[0] != (Span{0, MinutesPerDay}) {
			return false
		}
	}
	return true
}

func (c Calendar) loc() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

func (c Calendar) hasHours() bool {
	for _, spans := range c.Hours {
		for _, s := range spans {
			if s.End > s.Start {
				return true
			}
		}
	}
	return false
}

func (c Calendar) holidaySet() map[string]bool {
	if len(c.Holidays) == 0 {
		return nil
	}
	set := make(map[string]bool, len(c.Holidays))
	for _, h := range c.Holidays {
		set[h.Day] = true
	}
	return set
}

// day is one civil day of the calendar.
type day struct {
	y      int
	m      time.Month
	d      int
	loc    *time.Location
	wd     time.Weekday
	civil  string
	spans  []Span
	closed bool
}

func (c Calendar) dayOf(t time.Time, holidays map[string]bool) day {
	t = t.In(c.loc())
	return c.civilDay(t.Year(), t.Month(), t.Day(), holidays)
}

func (c Calendar) civilDay(y int, m time.Month, d int, holidays map[string]bool) day {
	loc := c.loc()
	// Noon is never inside a DST transition; it gives the normalised date and weekday.
	noon := time.Date(y, m, d, 12, 0, 0, 0, loc)
	y, m, d = noon.Date()
	civil := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	return day{y: y, m: m, d: d, loc: loc, wd: noon.Weekday(), civil: civil,
		spans: c.Hours[noon.Weekday()], closed: holidays[civil]}
}

func (d day) next(c Calendar, holidays map[string]bool) day {
	return c.civilDay(d.y, d.m, d.d+1, holidays)
}

func (d day) at(minute int) time.Time {
	return time.Date(d.y, d.m, d.d, 0, minute, 0, 0, d.loc)
}

// AddBusiness returns the moment at which d of business time has passed after from. A
// zero or negative d returns from unchanged (even outside the hours); otherwise the
// clock starts at the next business moment, so 1h from Friday 18:00 with Monday's hours
// starting at 09:00 is Monday 10:00. A deadline that falls exactly on the end of a span
// is that end, not the start of the next span. A calendar without any hours never
// reaches a deadline: the zero time.
func (c Calendar) AddBusiness(from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return from
	}
	if c.IsAlways() {
		return from.Add(d)
	}
	if !c.hasHours() {
		return time.Time{}
	}
	holidays := c.holidaySet()
	remaining := d
	for day := c.dayOf(from, holidays); ; day = day.next(c, holidays) {
		if day.closed {
			continue
		}
		for _, s := range day.spans {
			start, end := day.at(s.Start), day.at(s.End)
			if !end.After(from) {
				continue
			}
			if start.Before(from) {
				start = from
			}
			avail := end.Sub(start)
			if remaining <= avail {
				return start.Add(remaining)
			}
			remaining -= avail
		}
	}
}

// BusinessBetween is the business time in [a, b); zero when b is not after a.
func (c Calendar) BusinessBetween(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if c.IsAlways() {
		return b.Sub(a)
	}
	holidays := c.holidaySet()
	var total time.Duration
	for day := c.dayOf(a, holidays); !day.at(0).After(b); day = day.next(c, holidays) {
		if day.closed {
			continue
		}
		for _, s := range day.spans {
			start, end := day.at(s.Start), day.at(s.End)
			if start.Before(a) {
				start = a
			}
			if end.After(b) {
				end = b
			}
			if end.After(start) {
				total += end.Sub(start)
			}
		}
	}
	return total
}

// IsBusiness reports whether t is inside the business hours.
func (c Calendar) IsBusiness(t time.Time) bool {
	return c.BusinessBetween(t, t.Add(time.Nanosecond)) > 0
}

// Validate checks the calendar: a zone, each weekday's spans inside the day, sorted
// and not overlapping, at least one span in the week, holidays as YYYY-MM-DD without
// repeats. Errors are *FieldError naming the field ("hours.monday[1]", "holidays[0].day").
func (c Calendar) Validate() error {
	if c.Location == nil {
		return &FieldError{Field: "time_zone", Reason: "is required", Err: ErrInvalidTeam}
	}
	hasSpan := false
	for wd, spans := range c.Hours {
		field := "hours." + weekdayField(time.Weekday(wd))
		for i, s := range spans {
			f := fmt.Sprintf("%s[%d]", field, i)
			switch {
			case s.Start < 0 || s.Start >= MinutesPerDay:
				return &FieldError{Field: f + ".start", Reason: "must be between 00:00 and 23:59", Err: ErrInvalidTeam}
			case s.End <= 0 || s.End > MinutesPerDay:
				return &FieldError{Field: f + ".end", Reason: "must be between 00:01 and 24:00", Err: ErrInvalidTeam}
			case s.End <= s.Start:
				return &FieldError{Field: f + ".end", Reason: "must be after the start", Err: ErrInvalidTeam}
			case i > 0 && s.Start < spans[i-1].End:
				return &FieldError{Field: f, Reason: fmt.Sprintf("%s overlaps %s (spans must be sorted and not overlap)", s, spans[i-1]), Err: ErrInvalidTeam}
			}
			hasSpan = true
		}
	}
	if !hasSpan {
		return &FieldError{Field: "hours", Reason: "the week needs at least one span of business hours", Err: ErrInvalidTeam}
	}
	seen := make(map[string]bool, len(c.Holidays))
	for i, h := range c.Holidays {
		f := fmt.Sprintf("holidays[%d]", i)
		if _, err := time.Parse(time.DateOnly, h.Day); err != nil {
			return &FieldError{Field: f + ".day", Reason: "must be a date YYYY-MM-DD", Err: ErrInvalidTeam}
		}
		if seen[h.Day] {
			return &FieldError{Field: f + ".day", Reason: "is listed twice", Err: ErrInvalidTeam}
		}
		seen[h.Day] = true
		if len(h.Name) > 200 {
			return &FieldError{Field: f + ".name", Reason: "must be at most 200 characters", Err: ErrInvalidTeam}
		}
	}
	return nil
}

// SortHolidays orders the holidays by day.
func SortHolidays(hs []Holiday) {
	sort.Slice(hs, func(i, j int) bool { return hs[i].Day < hs[j].Day })
}

func weekdayField(wd time.Weekday) string {
	return [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}[wd]
}

// WeekdayField is the lower-case English name of the weekday, as request fields name it.
func WeekdayField(wd time.Weekday) string { return weekdayField(wd) }

// ParseHHMM reads "HH:MM" (00:00–24:00) as minutes from midnight.
func ParseHHMM(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || s[0] == '+' || s[0] == '-' || s[3] == '+' || s[3] == '-' {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day (00:00–24:00)", s)
	}
	return h*60 + m, nil
}

// FormatHHMM writes minutes from midnight as "HH:MM".
func FormatHHMM(minutes int) string {
	return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60)
}
