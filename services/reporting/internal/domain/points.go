package domain

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// PointsCounter names what a point movement adds to.
type PointsCounter string

const (
	// CounterCredited: points credited to members (purchases, survey bonuses,
	// adjustments).
	CounterCredited PointsCounter = "credited"
	// CounterReturned: points taken back by returns.
	CounterReturned PointsCounter = "returned"
	// CounterRedeemed: points redeemed (captured holds).
	CounterRedeemed PointsCounter = "redeemed"
	// CounterExpired: points expired.
	CounterExpired PointsCounter = "expired"
	// CounterAdjustedOut: points taken back by adjustments (and debits of any other
	// reason): corrections of earlier credits.
	CounterAdjustedOut PointsCounter = "adjusted_out"
)

// DebitReason is why the ledger took points back from a member.
type DebitReason int

const (
	DebitOther DebitReason = iota
	DebitReturn
	DebitExpiry
	DebitAdjustment
)

// PointsMovement is one ledger event as the liability report sees it.
type PointsMovement struct {
	Day     time.Time
	Counter PointsCounter
	Points  int64
}

func checkMovement(kind string, at time.Time, points int64) error {
	if at.IsZero() {
		return fmt.Errorf("%w: %s has no time", ErrInvalidEvent, kind)
	}
	if points <= 0 {
		return fmt.Errorf("%w: %s of %d points", ErrInvalidEvent, kind, points)
	}
	return nil
}

// Credit is points credited to a member.
func Credit(at time.Time, points int64) (PointsMovement, error) {
	if err := checkMovement("credit", at, points); err != nil {
		return PointsMovement{}, err
	}
	return PointsMovement{Day: DayOf(at), Counter: CounterCredited, Points: points}, nil
}

// Debit is points taken back from a member. The ledger reports as shortfall the part
// the member no longer had (already spent); only points-shortfall actually came back.
func Debit(at time.Time, reason DebitReason, points, shortfall int64) (PointsMovement, error) {
	if err := checkMovement("debit", at, points); err != nil {
		return PointsMovement{}, err
	}
	if shortfall < 0 || shortfall > points {
		return PointsMovement{}, fmt.Errorf("%w: debit shortfall %d outside 0-%d", ErrInvalidEvent, shortfall, points)
	}
	counter := CounterAdjustedOut
	switch reason {
	case DebitReturn:
		counter = CounterReturned
	case DebitExpiry:
		counter = CounterExpired
	}
	return PointsMovement{Day: DayOf(at), Counter: counter, Points: points - shortfall}, nil
}

// Capture is a hold captured: its points are redeemed.
func Capture(at time.Time, points int64) (PointsMovement, error) {
	if err := checkMovement("capture", at, points); err != nil {
		return PointsMovement{}, err
	}
	return PointsMovement{Day: DayOf(at), Counter: CounterRedeemed, Points: points}, nil
}

// PointsCell is the sum of a batch's movements of one day and counter. A sum beyond
// int64 comes as several cells of the same day and counter, which the store adds up.
type PointsCell struct {
	Day       time.Time
	Counter   PointsCounter
	Points    int64
	Movements int64
}

// TallyPoints folds a batch of movements into one increment per (day, counter), in key
// order. It never wraps: a movement that would carry its cell past int64 opens another
// cell of the same key.
func TallyPoints(moves []PointsMovement) []PointsCell {
	type key struct {
		day     time.Time
		counter PointsCounter
	}
	idx := map[key]int{}
	var cells []PointsCell
	for _, m := range moves {
		k := key{m.Day, m.Counter}
		i, ok := idx[k]
		if !ok || cells[i].Points > math.MaxInt64-m.Points {
			i = len(cells)
			idx[k] = i
			cells = append(cells, PointsCell{Day: m.Day, Counter: m.Counter})
		}
		cells[i].Points += m.Points
		cells[i].Movements++
	}
	slices.SortStableFunc(cells, func(a, b PointsCell) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Counter, b.Counter))
	})
	return cells
}

// PointsTotals are the counters summed over all time. The store keeps them exact; a
// counter beyond int64 reads as math.MaxInt64, the most the API can carry.
type PointsTotals struct {
	Credited    int64
	Returned    int64
	Redeemed    int64
	Expired     int64
	AdjustedOut int64
}

// PointsSummary is the programme's points position.
type PointsSummary struct {
	// Issued is points credited net of adjustment debits: an adjustment debit corrects
	// an earlier credit, so it counts as points that were not issued after all.
	Issued      int64
	Returned    int64
	Redeemed    int64
	Expired     int64
	AdjustedOut int64
	AsOf        time.Time
}

// Summary turns the counters into the programme's position at asOf. Its arithmetic
// saturates at the ends of int64 instead of wrapping: an absurd counter must not turn
// the liability negative or fail the report.
func (t PointsTotals) Summary(asOf time.Time) PointsSummary {
	return PointsSummary{
		Issued:      subSaturating(t.Credited, t.AdjustedOut),
		Returned:    t.Returned,
		Redeemed:    t.Redeemed,
		Expired:     t.Expired,
		AdjustedOut: t.AdjustedOut,
		AsOf:        asOf,
	}
}

// Outstanding is the programme's liability: points members still hold or have on hold.
func (s PointsSummary) Outstanding() int64 {
	return subSaturating(subSaturating(subSaturating(s.Issued, s.Returned), s.Redeemed), s.Expired)
}

// subSaturating is a - b, clamped to int64's range.
func subSaturating(a, b int64) int64 {
	d := a - b
	switch {
	case b > 0 && d > a:
		return math.MinInt64
	case b < 0 && d < a:
		return math.MaxInt64
	}
	return d
}
