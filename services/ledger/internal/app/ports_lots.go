package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// LotsTx is what pending points, lots, expiry and debts need inside a transaction. A
// lot is changed only by a transaction that holds its member's balance lock
// (Tx.LockMembers), so lots need no lock order of their own. Methods taking a slice are
// one statement whatever its length.
type LotsTx interface {
	// InsertLots writes new lots.
	InsertLots(ctx context.Context, lots []domain.Lot) error
	// MemberLots returns the lots with points left of members whose balances this
	// transaction has locked, pending and available.
	MemberLots(ctx context.Context, memberIDs []string) ([]domain.Lot, error)
	// SaveLots stores the Remaining, Pending and Expired of lots; expired lots get
	// expired_at = at.
	SaveLots(ctx context.Context, lots []domain.Lot, at time.Time) error

	// InsertHoldLots records what a hold took from which lots.
	InsertHoldLots(ctx context.Context, holdID string, burns []domain.LotBurn) error
	// HoldLots returns what the holds took from which lots, by hold id, with those lots
	// by id.
	HoldLots(ctx context.Context, holdIDs []string) (map[string][]domain.LotBurn, map[string]domain.Lot, error)

	// Debts returns what the members owe, by member id (members who owe nothing are
	// absent).
	Debts(ctx context.Context, memberIDs []string) (map[string]int64, error)
	// RecordDebts keeps new debts (one per idempotency key; a key seen before is
	// skipped) and returns, for each member among them, how many debts they have had
	// since since, these included.
	RecordDebts(ctx context.Context, debts []Debt, since time.Time) (map[string]int, error)
	// FlagDebtors marks members whose debt repeated, at at (the first flag stays).
	FlagDebtors(ctx context.Context, memberIDs []string, at time.Time) error

	// MaturingCredits returns up to limit credits with pending lots whose window ended at
	// now, with their members. It locks nothing: the caller locks the members, then
	// PendingLotsOf re-reads the lots.
	MaturingCredits(ctx context.Context, now time.Time, limit int) (credits []string, memberIDs []string, err error)
	// PendingLotsOf returns the pending lots of credits whose window ended at now.
	PendingLotsOf(ctx context.Context, credits []string, now time.Time) ([]domain.Lot, error)
	// ExpiringLots returns the ids and members of up to limit available lots with points
	// left past their expiry at now, soonest first. It locks nothing: the caller locks
	// the members, then ExpireLots re-reads them.
	ExpiringLots(ctx context.Context, now time.Time, limit int) (lotIDs []string, memberIDs []string, err error)
	// ExpireLots moves what is left of those of lotIDs still available with points left
	// past their expiry at now to their Expired (expired_at = now), and returns them as
	// they were before.
	ExpireLots(ctx context.Context, lotIDs []string, now time.Time) ([]domain.Lot, error)
	// LotsToAnnounce returns, locked, up to limit available lots with points left that
	// expire after now and by until and were not announced yet, skipping lots another
	// transaction has locked.
	LotsToAnnounce(ctx context.Context, now, until time.Time, limit int) ([]domain.Lot, error)
	// MarkAnnounced records that lots were announced at at.
	MarkAnnounced(ctx context.Context, lotIDs []string, at time.Time) error
}

// Debt is what a member came to owe, once per idempotency key.
type Debt struct {
	Key       string
	MemberID  string
	Points    int64
	Reference string
	At        time.Time
}
