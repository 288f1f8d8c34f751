package domain

import (
	"errors"
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
