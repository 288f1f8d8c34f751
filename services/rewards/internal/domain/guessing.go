package domain

import (
	"errors"
	"fmt"
	"time"
)

// Scopes of coupon attempt budgets and lockouts: the API key, the store and the
// terminal of a till. A guesser who rotates terminal ids still spends the key's and the
// store's budgets.
const (
	ScopeKey      = "key"
	ScopeStore    = "store"
	ScopeTerminal = "terminal"
)

// AttemptScope is one budget an attempt spends.
type AttemptScope struct {
	Kind    string // ScopeKey, ScopeStore or ScopeTerminal
	Subject string // the key's name, the store id, the terminal id
}

// AttemptScopes are the budgets of an attempt by key at store from terminal; an empty
// subject (an admin without a store) has no budget of its kind.
func AttemptScopes(key, store, terminal string) []AttemptScope {
	var out []AttemptScope
	for _, s := range []AttemptScope{{ScopeKey, key}, {ScopeStore, store}, {ScopeTerminal, terminal}} {
		if s.Subject != "" {
			out = append(out, s)
		}
	}
	return out
}

// AttemptPolicy is how many coupon attempts and failures a scope may make.
type AttemptPolicy struct {
	// PerMinute is each scope kind's budget of attempts per minute.
	PerMinute map[string]int
	// MaxFailures unknown codes within FailureWindow lock the scope for Lockout.
	MaxFailures   int
	FailureWindow time.Duration
	Lockout       time.Duration
}

// ErrCouponLockedOut: too many unknown codes were tried; the scope is locked for a while.
var ErrCouponLockedOut = errors.New("coupon attempts locked out after too many unknown codes")

// LockedOut says which scope is locked, until when.
type LockedOut struct {
	Scope AttemptScope
	Until time.Time
}

func (e *LockedOut) Error() string {
	return fmt.Sprintf("%v: %s %s until %s", ErrCouponLockedOut, e.Scope.Kind, e.Scope.Subject, e.Until.UTC().Format(time.RFC3339))
}

func (e *LockedOut) Unwrap() error { return ErrCouponLockedOut }

// RateLimited says which scope spent its budget, and when it refills.
type RateLimited struct {
	Scope AttemptScope
	Until time.Time
}

func (e *RateLimited) Error() string {
	return fmt.Sprintf("%v (%s %s)", ErrTooManyAttempts, e.Scope.Kind, e.Scope.Subject)
}

func (e *RateLimited) Unwrap() error { return ErrTooManyAttempts }

// Lock is a scope newly locked by a failure.
type Lock struct {
	Scope    AttemptScope
	Failures int
	Until    time.Time
}

// CouponGuessingSuspected: a scope reached its failure limit and was locked: an alert.
type CouponGuessingSuspected struct {
	Scope                        AttemptScope
	Failures                     int
	LockedUntil, DetectedAt      time.Time
	KeyName, StoreID, TerminalID string
}

func (CouponGuessingSuspected) isEvent() {}
