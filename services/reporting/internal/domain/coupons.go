package domain

import (
	"slices"
	"time"
)

// CouponEvent is a coupon issued or redeemed on a day.
type CouponEvent struct {
	Day      time.Time
	Redeemed bool
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
