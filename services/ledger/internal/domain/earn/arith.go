package earn

import (
	"math"
	"math/bits"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// frac is an exact non-negative fraction of points per currency unit, with a
// denominator that keeps den * 10^digits inside uint64 (at most 10^12 * 10^4).
type frac struct{ num, den uint64 }

func fracOf(r domain.Rate) frac {
	n, d := r.Fraction()
	return frac{uint64(n), uint64(d)}
}

// mul is a*b reduced, or false when it does not fit (a rule the engine refuses).
func (a frac) mul(b frac) (frac, bool) {
	g1, g2 := gcdU(a.num, b.den), gcdU(b.num, a.den)
	n1, d2 := a.num/g1, b.den/g1
	n2, d1 := b.num/g2, a.den/g2
	hiN, num := bits.Mul64(n1, n2)
	hiD, den := bits.Mul64(d1, d2)
	if hiN != 0 || hiD != 0 || den > 1_000_000_000_000 {
		return frac{}, false
	}
	return frac{num, den}, true
}

// minusOne is a-1 for a >= 1: the part of a multiplier the base does not already pay.
func (a frac) minusOne() frac { return frac{a.num - a.den, a.den} }

func gcdU(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return 1
	}
	return a
}

// points is floor(minor / 10^digits * f), computed in 128 bits and floored once;
// domain.ErrPointsOverflow when it does not fit an int64.
func (f frac) points(minor int64, digits int) (int64, error) {
	if minor <= 0 || f.num == 0 {
		return 0, nil
	}
	d := f.den
	for range digits {
		d *= 10
	}
	hi, lo := bits.Mul64(uint64(minor), f.num)
	if hi >= d {
		return 0, domain.ErrPointsOverflow
	}
	q, _ := bits.Div64(hi, lo, d)
	if q > math.MaxInt64 {
		return 0, domain.ErrPointsOverflow
	}
	return int64(q), nil
}

// allocate splits total over weights in proportion, exactly: each share is floored and
// the remainder goes one by one to the largest fractional parts (the earliest on a tie),
// so the shares add up to total. With no positive weight it is split evenly.
func allocate(total int64, weights []int64) []int64 {
	shares := make([]int64, len(weights))
	if len(weights) == 0 || total <= 0 {
		return shares
	}
	var sum uint64
	for _, w := range weights {
		sum += uint64(max(w, 0))
	}
	if sum == 0 {
		weights = make([]int64, len(weights))
		for i := range weights {
			weights[i] = 1
		}
		sum = uint64(len(weights))
	}
	rems := make([]uint64, len(weights))
	var given int64
	for i, w := range weights {
		hi, lo := bits.Mul64(uint64(max(w, 0)), uint64(total))
		q, r := bits.Div64(hi, lo, sum) // q <= total, since w <= sum
		shares[i], rems[i] = int64(q), r
		given += int64(q)
	}
	for left := total - given; left > 0; left-- {
		best := -1
		for i, r := range rems {
			if best < 0 || r > rems[best] {
				best = i
			}
		}
		shares[best]++
		rems[best] = 0
	}
	return shares
}

// scale reduces per-line points to a capped total, in proportion (see allocate).
func scale(points []int64, capped int64) []int64 {
	var sum int64
	for _, p := range points {
		sum += p
	}
	if capped >= sum {
		return points
	}
	return allocate(capped, points)
}
