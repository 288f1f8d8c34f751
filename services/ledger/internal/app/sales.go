package app

import (
	"fmt"
)

// What RecordPurchases and RecordReturns share.

// admit checks every sale of a batch before any statement (a refusal is the cheap,
// common failure) and keeps the first of each key: a POS that published a sale twice
// under different event ids may have both in one batch.
func admit[S any, K comparable](sales []S, check func(S) error, key func(S) K) ([]S, Refusals) {
	var refusals Refusals
	seen := make(map[K]bool, len(sales))
	kept := make([]S, 0, len(sales))
	for i, s := range sales {
		if err := check(s); err != nil {
			if refusals == nil {
				refusals = Refusals{}
			}
			refusals[i] = err
			continue
		}
		if k := key(s); !seen[k] {
			seen[k] = true
			kept = append(kept, s)
		}
	}
	return kept, refusals
}

// Booked is what a batch of sales did, for the operators' counters: the sales booked for
// the first time (not those booked before under another event id) and the points they
// credited (purchases) or debited (returns), with the batch's refusals.
type Booked struct {
	Refusals Refusals
	Sales    int
	Points   int64
}

// Refusals are the sales of a batch that the programme's rules refuse, by their index in
// the batch, with the rule each broke (an error that is domain.ErrRefused). They are
// left out of the batch; the caller dead-letters each, and no retry books them.
type Refusals map[int]error

// refused names the sale a rule refused (kind "purchase" or "return", ref its
// reference); nil when err is nil.
func refused(kind, ref string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s refused: %w", kind, ref, err)
}
