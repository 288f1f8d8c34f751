package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestMergeCaseChanges(t *testing.T) {
	opened := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	due := opened.Add(48 * time.Hour)
	resolved := opened.Add(3 * time.Hour)
	got := MergeCaseChanges([]CaseChange{
		{ID: "b", Kind: "CALLBACK", OpenedAt: opened},
		{ID: "a", Kind: "CALLBACK", Team: "care", StoreID: "s1", OpenedAt: opened, DueAt: due},
		{ID: "a", Outcome: "CONTACTED_RESOLVED", OpenedAt: opened, ResolvedAt: resolved},
	})
	want := []CaseChange{
		{ID: "a", Kind: "CALLBACK", Team: "care", StoreID: "s1", Outcome: "CONTACTED_RESOLVED", OpenedAt: opened, DueAt: due, ResolvedAt: resolved},
		{ID: "b", Kind: "CALLBACK", OpenedAt: opened},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MergeCaseChanges =\n%+v\nwant\n%+v", got, want)
	}
}

func TestCaseChecks(t *testing.T) {
	at := time.Now()
	tests := []struct {
		name string
		err  error
	}{
		{"opened without id", second(CaseOpened(CaseChange{OpenedAt: at}))},
		{"opened without time", second(CaseOpened(CaseChange{ID: "x"}))},
		{"resolved without id", second(CaseResolved(CaseChange{ResolvedAt: at}))},
		{"resolved without time", second(CaseResolved(CaseChange{ID: "x", OpenedAt: at}))},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, ErrInvalidEvent) {
			t.Errorf("%s: err = %v, want ErrInvalidEvent", tt.name, tt.err)
		}
	}
	if _, err := CaseResolved(CaseChange{ID: "x", ResolvedAt: at}); err != nil {
		t.Errorf("valid resolution refused: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestTallyCoupons(t *testing.T) {
	d1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	got := TallyCoupons([]CouponEvent{{Day: d2}, {Day: d1, Redeemed: true}, {Day: d2}, {Day: d2, Redeemed: true}})
	want := []CouponCell{{Day: d1, Redeemed: 1}, {Day: d2, Issued: 2, Redeemed: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TallyCoupons = %+v, want %+v", got, want)
	}
}

func TestCouponsWithoutADayCountToday(t *testing.T) {
	d1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 1, 5, 17, 30, 0, 0, time.UTC)
	events := []CouponEvent{{Day: d1}, {}, {Redeemed: true}}
	DateUndated(events, now)
	want := []CouponEvent{{Day: d1}, {Day: DayOf(now)}, {Day: DayOf(now), Redeemed: true}}
	if !reflect.DeepEqual(events, want) {
		t.Errorf("DateUndated = %+v, want %+v", events, want)
	}
	if _, err := CouponRedeemed(time.Time{}); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("a redemption without a time: err = %v, want ErrInvalidEvent", err)
	}
	if e, err := CouponRedeemed(now); err != nil || e != (CouponEvent{Day: DayOf(now), Redeemed: true}) {
		t.Errorf("CouponRedeemed = %+v, %v", e, err)
	}
}

func TestCaseWaiting(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 11, 2, h, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name                     string
		waiting, resumed, reopen time.Time
		want                     bool
	}{
		{"never waited", time.Time{}, time.Time{}, time.Time{}, false},
		{"waiting", at(10), time.Time{}, time.Time{}, true},
		{"resumed", at(10), at(11), time.Time{}, false},
		{"waiting again after a resume", at(12), at(11), time.Time{}, true},
		{"reopened after the wait", at(10), time.Time{}, at(11), false},
	} {
		c := CaseChange{ID: "c"}.merge(CaseChange{ID: "c", WaitingAt: tc.waiting}).merge(CaseChange{ID: "c", ResumedAt: tc.resumed, ReopenedAt: tc.reopen})
		if got := c.Waiting(); got != tc.want {
			t.Errorf("%s: waiting %v, want %v", tc.name, got, tc.want)
		}
	}
}
