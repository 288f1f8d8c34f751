package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// OpsTx is what staff operations write inside a transaction.
type OpsTx interface {
	// AdjustmentByKey returns the adjustment made with key, if any.
	AdjustmentByKey(ctx context.Context, key string) (a domain.Adjustment, found bool, err error)
	// InsertAdjustment records a under key; inserted is false when another transaction
	// recorded an adjustment with key in the meantime.
	InsertAdjustment(ctx context.Context, a domain.Adjustment, key string) (inserted bool, err error)
}

// OpsStore is what staff operations read.
type OpsStore interface {
	// History returns the member's transactions that match q, newest first, strictly
	// older than after when it is not nil, each with the member's available balance
	// after it (in journal order, whatever q filters out).
	History(ctx context.Context, memberID string, q domain.HistoryQuery, after *Cursor, limit int) ([]domain.HistoryEntry, error)
	// AuditLog returns the audit entries that match q, newest first (by time, then id),
	// strictly after the position after when it is not nil.
	AuditLog(ctx context.Context, q domain.AuditQuery, after *AuditCursor, limit int) ([]domain.AuditEntry, error)
}
