package domain

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// ErrRefused marks POS input the ledger will never book as sent: no retry can cure it, so
// it goes to the dead letters at once and credits nothing. An operator who decides it was
// right after all (a ceiling set too low, say) changes the rule and replays it.
var ErrRefused = errors.New("refused by the programme's rules")

// Refusal names the field of a POS event that broke a rule, and the rule. It is
// ErrRefused.
type Refusal struct {
	Field  string
	Reason string
}

func (r *Refusal) Error() string        { return r.Field + ": " + r.Reason }
func (r *Refusal) Is(target error) bool { return target == ErrRefused }

func refuse(field, format string, args ...any) *Refusal {
	return &Refusal{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Tender is a currency the programme accepts: what one unit of it earns and the largest
// amount, in its own minor units, one purchase or return may have.
type Tender struct {
	Currency      string
	PointsPerUnit Rate
	MaxMinor      int64
}

// POSRules decide which POS purchases and returns the ledger books and what they earn.
// The zero value accepts nothing.
type POSRules struct {
	tenders       map[string]tender
	maxSkew       time.Duration
	lineTolerance int64
}

type tender struct {
	Tender
	digits int
}

// NewPOSRules returns the rules of a programme that accepts tenders. maxSkew is how far
// ahead of the ledger's clock a till's clock may run: a sale dated later is refused.
// lineToleranceMinor is how far the sum of a receipt's lines may be from its total.
func NewPOSRules(tenders []Tender, maxSkew time.Duration, lineToleranceMinor int64) (POSRules, error) {
	if len(tenders) == 0 {
		return POSRules{}, errors.New("pos rules: no currency accepted")
	}
	if maxSkew < 0 || lineToleranceMinor < 0 {
		return POSRules{}, errors.New("pos rules: clock skew and line tolerance must not be negative")
	}
	r := POSRules{tenders: make(map[string]tender, len(tenders)), maxSkew: maxSkew, lineTolerance: lineToleranceMinor}
	for _, t := range tenders {
		digits, ok := MinorDigits(t.Currency)
		switch {
		case !ok:
			return POSRules{}, fmt.Errorf("pos rules: %q is not an ISO-4217 currency the ledger knows", t.Currency)
		case t.PointsPerUnit.IsZero():
			return POSRules{}, fmt.Errorf("pos rules: %s has no rate", t.Currency)
		case t.MaxMinor <= 0:
			return POSRules{}, fmt.Errorf("pos rules: %s needs a ceiling above zero", t.Currency)
		}
		if _, dup := r.tenders[t.Currency]; dup {
			return POSRules{}, fmt.Errorf("pos rules: %s named twice", t.Currency)
		}
		r.tenders[t.Currency] = tender{Tender: t, digits: digits}
	}
	return r, nil
}

// IsZero reports whether the rules accept nothing (not configured).
func (r POSRules) IsZero() bool { return len(r.tenders) == 0 }

// Currencies lists the accepted currencies, sorted.
func (r POSRules) Currencies() []string { return slices.Sorted(maps.Keys(r.tenders)) }

// CheckPurchase refuses a purchase the ledger must not book (a *Refusal), see checkSale.
func (r POSRules) CheckPurchase(p Purchase, now time.Time) error {
	return r.checkSale(p.Currency, p.TotalMinor, p.Lines, p.OccurredAt, now)
}

// CheckReturn refuses a return by the same rules as a purchase.
func (r POSRules) CheckReturn(x Return, now time.Time) error {
	return r.checkSale(x.Currency, x.TotalMinor, x.Lines, x.OccurredAt, now)
}

// CheckReturnOf refuses a return in another currency than its purchase: its amount
// cannot be compared with what the purchase earned.
func CheckReturnOf(x Return, p Purchase) error {
	if x.Currency != p.Currency {
		return refuse("currency", "the return is in %s but its purchase %s was in %s", x.Currency, p.Key.Reference(), p.Currency)
	}
	return nil
}

// checkSale holds the rules a purchase and a return share:
//   - the currency is one the programme accepts (a rate of another would be a guess);
//   - the total is not negative and at most the currency's ceiling (an absurd amount is
//     a till's bug or an attack, never points);
//   - the lines, when the receipt has any, add up to the total within the line tolerance
//     (points are earned on the total, so it must be the receipt's);
//   - it did not happen after now plus the allowed clock skew.
//
// Sales dated in the past are accepted however old: tills upload after outages, and a
// dead letter replayed later must still book.
func (r POSRules) checkSale(currency string, totalMinor int64, lines []Line, occurredAt, now time.Time) error {
	t, err := r.tender(currency)
	if err != nil {
		return err
	}
	if totalMinor < 0 {
		return refuse("total_minor", "%d is negative", totalMinor)
	}
	if totalMinor > t.MaxMinor {
		return refuse("total_minor", "%d is above the ceiling of %d %s minor units per purchase", totalMinor, t.MaxMinor, currency)
	}
	if len(lines) > 0 {
		var sum int64
		for i, l := range lines {
			if l.AmountMinor < 0 {
				return refuse(fmt.Sprintf("lines[%d].amount_minor", i), "%d is negative", l.AmountMinor)
			}
			if l.AmountMinor > math.MaxInt64-sum {
				return refuse("lines", "their amounts add up beyond %d", int64(math.MaxInt64))
			}
			sum += l.AmountMinor
		}
		if diff := max(sum-totalMinor, totalMinor-sum); diff > r.lineTolerance {
			return refuse("lines", "they add up to %d but total_minor is %d (tolerance %d)", sum, totalMinor, r.lineTolerance)
		}
	}
	if latest := now.Add(r.maxSkew); occurredAt.After(latest) {
		return refuse("occurred_at", "%s is in the future (more than %s after the ledger's clock, %s)",
			occurredAt.UTC().Format(time.RFC3339), r.maxSkew, now.UTC().Format(time.RFC3339))
	}
	return nil
}

func (r POSRules) tender(currency string) (tender, error) {
	t, ok := r.tenders[currency]
	if ok {
		return t, nil
	}
	accepted := strings.Join(r.Currencies(), ", ")
	if _, known := MinorDigits(currency); !known {
		return tender{}, refuse("currency", "%q is not an ISO-4217 currency the ledger knows (this programme accepts %s)", currency, accepted)
	}
	return tender{}, refuse("currency", "%s is not accepted by this programme (it accepts %s)", currency, accepted)
}

// Points is what minor units of currency earn, at the currency's own rate and minor
// digits. An amount whose points would not fit in an int64 is refused, never capped.
func (r POSRules) Points(currency string, minor int64) (int64, error) {
	t, err := r.tender(currency)
	if err != nil {
		return 0, err
	}
	p, err := t.PointsPerUnit.PointsIn(minor, t.digits)
	if err != nil {
		return 0, refuse("total_minor", "%d %s earns more points than an int64 holds", minor, currency)
	}
	return p, nil
}

// AddPoints is balance + points, refused when the sum would leave int64: a balance must
// never wrap around.
func AddPoints(balance, points int64) (int64, error) {
	if points > 0 && balance > math.MaxInt64-points || points < 0 && balance < math.MinInt64-points {
		return 0, refuse("points", "a balance of %d plus %d overflows", balance, points)
	}
	return balance + points, nil
}
