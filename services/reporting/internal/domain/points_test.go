package domain

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"
)

func TestDebit(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name              string
		reason            DebitReason
		points, shortfall int64
		want              PointsMovement
		wantErr           bool
	}{
		{"return takes what the member had", DebitReturn, 100, 30, PointsMovement{Day: DayOf(at), Counter: CounterReturned, Points: 70}, false},
		{"return in full", DebitReturn, 100, 0, PointsMovement{Day: DayOf(at), Counter: CounterReturned, Points: 100}, false},
		{"return of points all spent", DebitReturn, 50, 50, PointsMovement{Day: DayOf(at), Counter: CounterReturned, Points: 0}, false},
		{"expiry", DebitExpiry, 40, 0, PointsMovement{Day: DayOf(at), Counter: CounterExpired, Points: 40}, false},
		{"adjustment", DebitAdjustment, 15, 5, PointsMovement{Day: DayOf(at), Counter: CounterAdjustedOut, Points: 10}, false},
		{"other reason", DebitOther, 15, 0, PointsMovement{Day: DayOf(at), Counter: CounterAdjustedOut, Points: 15}, false},
		{"shortfall above points", DebitReturn, 10, 11, PointsMovement{}, true},
		{"negative shortfall", DebitReturn, 10, -1, PointsMovement{}, true},
		{"no points", DebitReturn, 0, 0, PointsMovement{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Debit(at, tt.reason, tt.points, tt.shortfall)
			if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrInvalidEvent)) {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Debit = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCreditAndCaptureCheckInput(t *testing.T) {
	at := time.Now()
	if _, err := Credit(time.Time{}, 5); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("Credit without a time: err = %v", err)
	}
	if _, err := Credit(at, -5); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("Credit of -5: err = %v", err)
	}
	if _, err := Capture(at, 0); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("Capture of 0: err = %v", err)
	}
	if m, err := Capture(at, 7); err != nil || m.Counter != CounterRedeemed || m.Points != 7 {
		t.Errorf("Capture = %+v, %v", m, err)
	}
}

func TestTallyPoints(t *testing.T) {
	d1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	got := TallyPoints([]PointsMovement{
		{Day: d2, Counter: CounterCredited, Points: 10},
		{Day: d1, Counter: CounterRedeemed, Points: 5},
		{Day: d2, Counter: CounterCredited, Points: 20},
		{Day: d1, Counter: CounterCredited, Points: 1},
	})
	want := []PointsCell{
		{Day: d1, Counter: CounterCredited, Points: 1, Movements: 1},
		{Day: d1, Counter: CounterRedeemed, Points: 5, Movements: 1},
		{Day: d2, Counter: CounterCredited, Points: 30, Movements: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TallyPoints = %+v, want %+v", got, want)
	}
}

func TestPointsSummary(t *testing.T) {
	asOf := time.Now()
	s := PointsTotals{Credited: 1000, Returned: 70, Redeemed: 200, Expired: 30, AdjustedOut: 50}.Summary(asOf)
	want := PointsSummary{Issued: 950, Returned: 70, Redeemed: 200, Expired: 30, AdjustedOut: 50, AsOf: asOf}
	if s != want {
		t.Errorf("Summary = %+v, want %+v", s, want)
	}
	if got := s.Outstanding(); got != 950-70-200-30 {
		t.Errorf("Outstanding = %d, want %d", got, 950-70-200-30)
	}
}

// TestTallyPointsNeverWraps: three movements of int64 max on one day add up to more than
// an int64; the cells carry the exact sum between them, none of them negative.
func TestTallyPointsNeverWraps(t *testing.T) {
	d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	moves := []PointsMovement{
		{Day: d, Counter: CounterCredited, Points: math.MaxInt64},
		{Day: d, Counter: CounterCredited, Points: 5},
		{Day: d, Counter: CounterCredited, Points: math.MaxInt64},
		{Day: d, Counter: CounterRedeemed, Points: 7},
		{Day: d, Counter: CounterCredited, Points: math.MaxInt64},
	}
	want := new(big.Int).Mul(big.NewInt(math.MaxInt64), big.NewInt(3))
	want.Add(want, big.NewInt(5))
	sum, movements := new(big.Int), int64(0)
	for _, c := range TallyPoints(moves) {
		if c.Points < 0 {
			t.Fatalf("a cell wrapped: %+v", c)
		}
		if c.Counter == CounterCredited {
			sum.Add(sum, big.NewInt(c.Points))
			movements += c.Movements
		} else if c.Points != 7 || c.Movements != 1 {
			t.Errorf("redeemed cell %+v, want 7 points in 1 movement", c)
		}
	}
	if sum.Cmp(want) != 0 || movements != 4 {
		t.Errorf("credited cells add up to %s points in %d movements, want %s in 4", sum, movements, want)
	}
}

// TestPointsSummarySaturates: counters at the end of int64 give a summary at the ends of
// int64, never a wrapped number of the wrong sign.
func TestPointsSummarySaturates(t *testing.T) {
	s := PointsTotals{Credited: math.MaxInt64, Returned: math.MaxInt64, Redeemed: math.MaxInt64, Expired: math.MaxInt64}.Summary(time.Now())
	if s.Issued != math.MaxInt64 {
		t.Errorf("issued %d, want %d", s.Issued, int64(math.MaxInt64))
	}
	if got := s.Outstanding(); got != math.MinInt64 { // max - max - max - max, clamped
		t.Errorf("outstanding %d, want %d", got, int64(math.MinInt64))
	}
	if got := (PointsSummary{Issued: math.MinInt64 + 1, Returned: 10}).Outstanding(); got != math.MinInt64 {
		t.Errorf("outstanding below int64 = %d, want %d", got, int64(math.MinInt64))
	}
	if got := (PointsSummary{Issued: math.MaxInt64, Returned: -10}).Outstanding(); got != math.MaxInt64 {
		t.Errorf("outstanding above int64 = %d, want %d", got, int64(math.MaxInt64))
	}
	if got := (PointsTotals{Credited: 100, AdjustedOut: math.MaxInt64}).Summary(time.Now()).Issued; got != 100-math.MaxInt64 {
		t.Errorf("issued %d, want %d", got, 100-int64(math.MaxInt64))
	}
}
