// Package app holds the ledger's use cases. Each runs in one database transaction and
// writes the events it causes to the outbox in that same transaction.
package app

import (
	"errors"
	"log/slog"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// Config is the programme's rules.
type Config struct {
	// POS is what a purchase earns per currency, and which purchases and returns are
	// refused.
	POS domain.POSRules
	// SurveyBonusPoints is credited once per survey response; 0 turns the bonus off.
	SurveyBonusPoints int64
	// HoldTTL is how long a hold lives uncaptured when the request names no TTL.
	HoldTTL time.Duration
	// ReturnWaitDeliveries is how many deliveries a return waits for its purchase before
	// it is booked from its own amount.
	ReturnWaitDeliveries int
}

// Application is the ledger's use cases.
type Application struct {
	store Store
	cfg   Config
	newID func() string
	now   func() time.Time
	log   *slog.Logger
}

// New returns the use cases over store. newID returns a fresh UUIDv7; now the time.
func New(store Store, cfg Config, newID func() string, now func() time.Time, log *slog.Logger) (*Application, error) {
	switch {
	case store == nil || newID == nil || now == nil || log == nil:
		return nil, errors.New("app: store, newID, now and log are required")
	case cfg.POS.IsZero():
		return nil, errors.New("app: POS rules are required")
	case cfg.HoldTTL <= 0:
		return nil, errors.New("app: HoldTTL must be positive")
	case cfg.SurveyBonusPoints < 0:
		return nil, errors.New("app: SurveyBonusPoints must not be negative")
	}
	if cfg.ReturnWaitDeliveries <= 0 {
		cfg.ReturnWaitDeliveries = 3
	}
	return &Application{store: store, cfg: cfg, newID: newID, now: now, log: log}, nil
}

// clock returns the time now, in UTC and truncated to microseconds (Postgres keeps no
// finer), so that what a use case returns equals what a later read of it returns.
func (a *Application) clock() time.Time { return a.now().UTC().Truncate(time.Microsecond) }
