package domain

// Fraction returns the rate as num/den in lowest terms, for exact arithmetic on it
// (the earning engine multiplies rates without ever rounding in between).
func (r Rate) Fraction() (num, den int64) { return r.num, r.den }

// Tender returns the rate and minor digits of an accepted currency, a *Refusal naming
// the currency otherwise.
func (r POSRules) Tender(currency string) (rate Rate, digits int, err error) {
	t, err := r.tender(currency)
	if err != nil {
		return Rate{}, 0, err
	}
	return t.PointsPerUnit, t.digits, nil
}
