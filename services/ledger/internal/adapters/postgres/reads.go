package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// The reads of a member's export. They scan their tables (no index on member ids
// there): an export is rare, and an index would cost every purchase booked.

// Holds returns the member's holds, oldest first.
func (s *Store) Holds(ctx context.Context, memberID string) ([]domain.Hold, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+holdColumns+` FROM holds WHERE member_id = $1 ORDER BY created_at, id`, memberID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Hold, error) { return scanHold(row) })
}

// Purchases returns the purchases credited to the member, oldest first.
func (s *Store) Purchases(ctx context.Context, memberID string) ([]domain.Purchase, error) {
	return s.purchases(ctx, `member_id = $1`, memberID)
}

// Unmatched returns the purchases that named the member (in any spelling of the id)
// and were not credited to them, oldest first.
func (s *Store) Unmatched(ctx context.Context, memberID string) ([]domain.Purchase, error) {
	return s.purchases(ctx, `member_id IS NULL AND member_ref <> '' AND lower(replace(member_ref, '-', '')) = $1`,
		strings.ReplaceAll(memberID, "-", ""))
}

func (s *Store) purchases(ctx context.Context, where string, arg any) ([]domain.Purchase, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+purchaseColumns+`, lines FROM purchases
		WHERE `+where+` ORDER BY occurred_at, store_id, transaction_id`, arg)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Purchase, error) {
		var p domain.Purchase
		err := row.Scan(append(purchaseFields(&p), &p.Lines)...)
		return p, err
	})
}

// Returns returns the returns booked against the member, oldest first.
func (s *Store) Returns(ctx context.Context, memberID string) ([]domain.Return, error) {
	rows, err := s.db.Pool.Query(ctx, `
		SELECT store_id, return_id, original_transaction_id, event_id, member_ref, COALESCE(member_id::text, ''),
			occurred_at, currency, total_minor, lines, points, debited, shortfall, orphan, COALESCE(ledger_tx_id::text, '')
		FROM returns WHERE member_id = $1 ORDER BY occurred_at, store_id, return_id`, memberID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Return, error) {
		var r domain.Return
		err := row.Scan(&r.Key.StoreID, &r.Key.ReturnID, &r.OriginalTransactionID, &r.EventID, &r.MemberRef, &r.MemberID,
			at(&r.OccurredAt), &r.Currency, &r.TotalMinor, &r.Lines, &r.Points, &r.Debited, &r.Shortfall, &r.Orphan, &r.LedgerTxID)
		return r, err
	})
}
