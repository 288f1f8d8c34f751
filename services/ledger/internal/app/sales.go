package app

import (
	"fmt"
	"slices"
)

// What RecordPurchases and RecordReturns share.

// admit checks every sale of a batch before any statement (a refusal is the cheap,
// common failure) and keeps the first of each key: a POS that published a sale twice
// under different event ids may have both in one batch.
func admit[S any, K comparable](sales []S, check func(S) error, key func(S) K) ([]S, error) {
	for _, s := range sales {
		if err := check(s); err != nil {
			return nil, err
		}
	}
	seen := make(map[K]bool, len(sales))
	return slices.DeleteFunc(sales, func(s S) bool {
		k := key(s)
		dup := seen[k]
		seen[k] = true
		return dup
	}), nil
}

// refused names the sale a rule refused (kind "purchase" or "return", ref its
// reference); nil when err is nil.
func refused(kind, ref string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s refused: %w", kind, ref, err)
}
