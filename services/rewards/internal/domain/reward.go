package domain

import (
	"fmt"
	"regexp"
)

// RewardKind is what a member gets for their points.
type RewardKind string

// KindCoupon is a coupon worth a fixed amount off a purchase; the only kind so far.
const KindCoupon RewardKind = "coupon"

// DefaultValidDays is how long an issued coupon stays valid when the reward does not say.
const DefaultValidDays = 90

// MaxValidDays bounds a coupon's validity to ten years.
const MaxValidDays = 3650

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Reward is an entry of the catalog.
type Reward struct {
	ID          string
	Name        string
	Kind        RewardKind
	PointsPrice int64
	// ValueMinor is the coupon's value in minor units of Currency.
	ValueMinor int64
	Currency   string
	Active     bool
	// ValidDays is how long a coupon issued for this reward stays valid.
	ValidDays int
}

// NewReward returns an active reward, with the default validity when validDays is 0.
func NewReward(id, name string, kind RewardKind, pointsPrice, valueMinor int64, currency string, validDays int) (Reward, error) {
	if validDays == 0 {
		validDays = DefaultValidDays
	}
	r := Reward{
		ID: id, Name: name, Kind: kind, PointsPrice: pointsPrice, ValueMinor: valueMinor,
		Currency: currency, Active: true, ValidDays: validDays,
	}
	switch {
	case name == "":
		return Reward{}, fmt.Errorf("%w: name is empty", ErrInvalidReward)
	case kind != KindCoupon:
		return Reward{}, fmt.Errorf("%w: unknown kind %q", ErrInvalidReward, kind)
	case pointsPrice <= 0:
		return Reward{}, fmt.Errorf("%w: points price must be positive", ErrInvalidReward)
	case valueMinor <= 0:
		return Reward{}, fmt.Errorf("%w: value must be positive", ErrInvalidReward)
	case !currencyCode.MatchString(currency):
		return Reward{}, fmt.Errorf("%w: currency %q is not an ISO-4217 code", ErrInvalidReward, currency)
	case validDays < 0 || validDays > MaxValidDays:
		return Reward{}, fmt.Errorf("%w: valid days must be between 1 and %d", ErrInvalidReward, MaxValidDays)
	}
	return r, nil
}
