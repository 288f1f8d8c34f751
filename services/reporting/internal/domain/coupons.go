package domain

import (
	"fmt"
	"slices"
	"time"
)

// CouponEvent is a coupon issued or redeemed on a day. A zero Day is a coupon issued
// by an event that carries no time (see DateUndated).
type CouponEvent struct {
	Day      time.Time
	Redeemed bool
}

// CouponRedeemed is a coupon redeemed at at.
func CouponRedeemed(at time.Time) (CouponEvent, error) {
	if at.IsZero() {
		return CouponEvent{}, fmt.Errorf("%w: coupon redeemed without redeemed_at", ErrInvalidEvent)
	}
	return CouponEvent{Day: DayOf(at), Redeemed: true}, nil
}

// DateUndated gives the events that carry no day the day of now: a coupon issued counts
// on the day reporting learns of it when its event does not say when it happened.
func DateUndated(events []CouponEvent, now time.Time) {
	for i := range events {
		if events[i].Day.IsZero() {
			events[i].Day = DayOf(now)
		}
	}
}

// CouponCell counts a day's coupons.
type CouponCell struct {
	Day      time.Time
	Issued   int64
	Redeemed int64
}

// TallyCoupons folds a batch into one increment per day, oldest first.
func TallyCoupons(events []CouponEvent) []CouponCell {
	idx := map[time.Time]int{}
	var cells []CouponCell
	for _, e := range events {
		i, ok := idx[e.Day]
		if !ok {
			i = len(cells)
			idx[e.Day] = i
			cells = append(cells, CouponCell{Day: e.Day})
		}
		if e.Redeemed {
			cells[i].Redeemed++
		} else {
			cells[i].Issued++
		}
	}
	slices.SortFunc(cells, func(a, b CouponCell) int { return a.Day.Compare(b.Day) })
	return cells
}

// CouponStats are the coupon figures: all-time totals and the days of a period.
type CouponStats struct {
	Issued   int64
	Redeemed int64
	ByDay    []CouponCell
}
