package domain

import (
	"testing"
	"time"
)

func TestExpiryPolicy(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	earned := time.Date(2026, time.January, 31, 15, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		policy string
		loc    *time.Location
		want   time.Time
	}{
		{"never", time.UTC, time.Time{}},
		{"months:1", time.UTC, time.Date(2026, time.February, 28, 15, 4, 5, 0, time.UTC)},
		{"months:12", time.UTC, time.Date(2027, time.January, 31, 15, 4, 5, 0, time.UTC)},
		{"quarters:1", time.UTC, time.Date(2026, time.April, 1, 0, 0, 0, 0, time.UTC)},
		{"quarters:4", time.UTC, time.Date(2027, time.January, 1, 0, 0, 0, 0, time.UTC)},
		{"years:1", time.UTC, time.Date(2027, time.January, 1, 0, 0, 0, 0, time.UTC)},
		{"years:2", berlin, time.Date(2027, time.December, 31, 23, 0, 0, 0, time.UTC)},
	} {
		p, err := ParseExpiryPolicy(c.policy)
		if err != nil {
			t.Fatalf("%s: %v", c.policy, err)
		}
		if got := p.ExpiresAt(earned, c.loc); !got.Equal(c.want) {
			t.Errorf("%s in %s: expires %v, want %v", c.policy, c.loc, got, c.want)
		}
		if p.String() != c.policy {
			t.Errorf("%s reads back as %s", c.policy, p)
		}
	}
	for _, bad := range []string{"", "forever", "months", "months:0", "weeks:2", "years:-1", "months:121"} {
		if _, err := ParseExpiryPolicy(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
