package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ExpiryPolicy says when points earned at a given time expire. Written as text (in
// configuration and on a rule that overrides the programme's):
//
//	never       points never expire
//	months:N    rolling: N calendar months after the moment they were earned
//	quarters:N  at the end of the Nth calendar quarter, the one they were earned in first
//	            (quarters:1 is the end of the current quarter)
//	years:N     at the end of the Nth calendar year, the one they were earned in first
//	            (years:1 is the end of this year)
//
// Ends of quarters and years are midnight at their end in the programme's time zone.
type ExpiryPolicy struct {
	unit string // "", "months", "quarters", "years"
	n    int
}

// NeverExpire is the policy of points that never expire.
var NeverExpire = ExpiryPolicy{}

// ParseExpiryPolicy reads a policy as ExpiryPolicy documents it.
func ParseExpiryPolicy(s string) (ExpiryPolicy, error) {
	s = strings.TrimSpace(s)
	if s == "never" {
		return NeverExpire, nil
	}
	unit, num, ok := strings.Cut(s, ":")
	n, err := strconv.Atoi(num)
	switch {
	case !ok || err != nil:
		return ExpiryPolicy{}, fmt.Errorf("expiry policy %q: want never, months:N, quarters:N or years:N", s)
	case unit != "months" && unit != "quarters" && unit != "years":
		return ExpiryPolicy{}, fmt.Errorf("expiry policy %q: unit %q, want months, quarters or years", s, unit)
	case n < 1 || n > 120:
		return ExpiryPolicy{}, fmt.Errorf("expiry policy %q: want 1 to 120 %s", s, unit)
	}
	return ExpiryPolicy{unit: unit, n: n}, nil
}

// Never reports whether points under the policy never expire.
func (p ExpiryPolicy) Never() bool { return p.unit == "" }

// String is the policy as ParseExpiryPolicy reads it.
func (p ExpiryPolicy) String() string {
	if p.Never() {
		return "never"
	}
	return p.unit + ":" + strconv.Itoa(p.n)
}

// ExpiresAt is when points earned at earned expire, ends of periods taken in loc; the
// zero time when they never do.
func (p ExpiryPolicy) ExpiresAt(earned time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t := earned.In(loc)
	switch p.unit {
	case "months":
		// AddDate normalises Jan 31 + 1 month to Mar 3; a member expects the end of
		// February instead, so the day is clamped to the target month's last day.
		y, m, d := t.Date()
		first := time.Date(y, m+time.Month(p.n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
		last := first.AddDate(0, 1, -1).Day()
		return time.Date(first.Year(), first.Month(), min(d, last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc).UTC()
	case "quarters":
		q := (int(t.Month()) - 1) / 3
		return time.Date(t.Year(), time.Month(3*(q+p.n)+1), 1, 0, 0, 0, 0, loc).UTC()
	case "years":
		return time.Date(t.Year()+p.n, time.January, 1, 0, 0, 0, 0, loc).UTC()
	}
	return time.Time{}
}
