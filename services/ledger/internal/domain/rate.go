package domain

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Rate is the points earned per currency unit (100 minor units). It is kept as an exact
// fraction num/den, so a decimal rate such as 1.5 never rounds before the final floor.
type Rate struct {
	num, den int64
}

// maxRateDecimals bounds the denominator (10^6), so 100*den never overflows.
const maxRateDecimals = 6

// ParseRate reads a non-negative decimal such as "1", "1.5" or "0.25".
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" && !hasFrac || hasFrac && frac == "" || len(frac) > maxRateDecimals {
		return Rate{}, fmt.Errorf("rate %q: want a decimal with at most %d decimals, e.g. 1 or 1.5", s, maxRateDecimals)
	}
	if whole == "" {
		whole = "0"
	}
	for _, part := range []string{whole, frac} {
		if strings.TrimLeft(part, "0123456789") != "" {
			return Rate{}, fmt.Errorf("rate %q: want a non-negative decimal, e.g. 1 or 1.5", s)
		}
	}
	den := int64(1)
	for range len(frac) {
		den *= 10
	}
	num, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || num > math.MaxInt64/100 {
		return Rate{}, fmt.Errorf("rate %q: too large", s)
	}
	return NewRate(num, den)
}

// NewRate returns the rate num/den points per currency unit.
func NewRate(num, den int64) (Rate, error) {
	if num < 0 || den <= 0 || den > 1_000_000 {
		return Rate{}, errors.New("rate: want num >= 0 and 0 < den <= 10^6")
	}
	g := gcd(num, den)
	return Rate{num: num / g, den: den / g}, nil
}

// MustRate is NewRate for constants known to be valid.
func MustRate(num, den int64) Rate {
	r, err := NewRate(num, den)
	if err != nil {
		panic(err)
	}
	return r
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return 1
	}
	return a
}

// IsZero reports whether the rate is unset.
func (r Rate) IsZero() bool { return r.den == 0 }

// String is the rate as a fraction, e.g. "3/2".
func (r Rate) String() string {
	if r.den == 1 {
		return strconv.FormatInt(r.num, 10)
	}
	return strconv.FormatInt(r.num, 10) + "/" + strconv.FormatInt(r.den, 10)
}

// ErrPointsOverflow: an amount's points do not fit in an int64.
var ErrPointsOverflow = errors.New("points overflow int64")

// Points is PointsIn for a currency with two minor digits, capped at math.MaxInt64 where
// PointsIn fails. Bookings use PointsIn, which refuses instead of capping.
func (r Rate) Points(minor int64) int64 {
	p, err := r.PointsIn(minor, 2)
	if err != nil {
		return math.MaxInt64
	}
	return p
}

// PointsIn is floor(minor / 10^digits * rate): what an amount of minor units of a currency
// with that many minor digits earns. Amounts below zero earn nothing. The product is
// computed in 128 bits and floored once; a result beyond int64 is ErrPointsOverflow, never
// a wrapped or capped number.
func (r Rate) PointsIn(minor int64, digits int) (int64, error) {
	if digits < 0 || digits > 4 {
		return 0, fmt.Errorf("rate: %d minor digits, want 0-4", digits)
	}
	if minor <= 0 || r.num == 0 || r.den == 0 {
		return 0, nil
	}
	d := uint64(r.den) // at most 10^6, so d * 10^4 fits easily
	for range digits {
		d *= 10
	}
	hi, lo := bits.Mul64(uint64(minor), uint64(r.num))
	if hi >= d {
		return 0, ErrPointsOverflow
	}
	q, _ := bits.Div64(hi, lo, d)
	if q > math.MaxInt64 {
		return 0, ErrPointsOverflow
	}
	return int64(q), nil
}
