package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// Staff operations: adjustments, the filtered history with running balances, the audit
// log.

const adjustmentColumns = `id::text, member_id::text, direction, points, reason_code, note, balance_before, balance_after,
	actor, key_id, created_at, request_hash`

func (t *ledgerTx) AdjustmentByKey(ctx context.Context, key string) (domain.Adjustment, bool, error) {
	var a domain.Adjustment
	err := t.tx.QueryRow(ctx, `SELECT `+adjustmentColumns+` FROM adjustments WHERE idempotency_key = $1`, key).Scan(
		&a.ID, &a.MemberID, &a.Direction, &a.Points, &a.Code, &a.Note, &a.BalanceBefore, &a.BalanceAfter,
		&a.Actor.Name, &a.Actor.KeyID, at(&a.CreatedAt), &a.RequestHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Adjustment{}, false, nil
	}
	return a, err == nil, err
}

func (t *ledgerTx) InsertAdjustment(ctx context.Context, a domain.Adjustment, key string) (bool, error) {
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO adjustments (id, member_id, direction, points, reason_code, note, balance_before, balance_after,
			actor, key_id, created_at, idempotency_key, request_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (idempotency_key) DO NOTHING`,
		a.ID, a.MemberID, string(a.Direction), a.Points, string(a.Code), a.Note, a.BalanceBefore, a.BalanceAfter,
		a.Actor.Name, a.Actor.KeyID, a.CreatedAt, key, a.RequestHash)
	return err == nil && tag.RowsAffected() == 1, err
}

// History reads a page of the member's history in one statement, then its postings in a
// second. The running balance is the member's stored available balance less the changes
// of every newer transaction: a window over the journal walked newest first along the
// member's index, so the statement stops at the end of the page instead of summing the
// member's whole history (the filters apply after the window, which sees every
// transaction). Stored balance and journal are read in one snapshot, so they agree.
func (s *Store) History(ctx context.Context, memberID string, q domain.HistoryQuery, after *app.Cursor, limit int) ([]domain.HistoryEntry, error) {
	account := domain.AvailableAccount(memberID)
	args := []any{memberID, account}
	var where []string
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if after != nil {
		where = append(where, "running.id < "+arg(after.ID)+"::uuid")
	}
	if len(q.Kinds) > 0 {
		kinds := make([]string, len(q.Kinds))
		for i, k := range q.Kinds {
			kinds[i] = string(k)
		}
		where = append(where, "kind = ANY("+arg(kinds)+"::text[])")
	}
	if len(q.Reasons) > 0 {
		reasons := make([]string, len(q.Reasons))
		for i, r := range q.Reasons {
			reasons[i] = string(r)
		}
		where = append(where, "reason = ANY("+arg(reasons)+"::text[])")
	}
	if !q.Since.IsZero() {
		where = append(where, "created_at >= "+arg(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "created_at < "+arg(q.Until))
	}
	filter := ""
	if len(where) > 0 {
		filter = "WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.Pool.Query(ctx, `
		WITH journal AS (
			SELECT t.id, t.idempotency_key, t.kind, t.reason, t.reference, t.created_at,
				COALESCE((SELECT sum(CASE WHEN p.destination = $2 THEN p.amount WHEN p.source = $2 THEN -p.amount ELSE 0 END)
					FROM postings p WHERE p.transaction_id = t.id), 0) AS change
			FROM transactions t WHERE t.member_id = $1
		), running AS (
			SELECT j.*, (SELECT balance FROM accounts WHERE name = $2)
				- COALESCE(sum(j.change) OVER (ORDER BY j.id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS balance_after
			FROM journal j
		)
		SELECT running.id::text, idempotency_key, kind, reason, reference, created_at, balance_after::int8
		FROM running `+filter+`
		ORDER BY running.id DESC LIMIT `+arg(limit), args...)
	if err != nil {
		return nil, err
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.HistoryEntry, error) {
		e := domain.HistoryEntry{Transaction: domain.Transaction{MemberID: memberID}}
		err := row.Scan(&e.ID, &e.IdempotencyKey, &e.Kind, &e.Reason, &e.Reference, at(&e.CreatedAt), &e.BalanceAfter)
		return e, err
	})
	if err != nil || len(entries) == 0 {
		return entries, err
	}
	return entries, s.attachPostings(ctx, entries)
}

// attachPostings reads the postings of entries in one query.
func (s *Store) attachPostings(ctx context.Context, entries []domain.HistoryEntry) error {
	ids := make([]string, len(entries))
	index := make(map[string]int, len(entries))
	for i, e := range entries {
		ids[i], index[e.ID] = e.ID, i
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT transaction_id::text, source, destination, amount FROM postings
		WHERE transaction_id = ANY($1::uuid[]) ORDER BY transaction_id, seq`, ids)
	if err != nil {
		return err
	}
	var (
		id string
		p  domain.Posting
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &p.Source, &p.Destination, &p.Amount}, func() error {
		i, ok := index[id]
		if !ok {
			return fmt.Errorf("posting of unexpected transaction %s", id)
		}
		entries[i].Postings = append(entries[i].Postings, p)
		return nil
	})
	return err
}

// AuditLog reads a page of the audit log, newest first. Only the filters given go into
// the statement, so each shape of query finds its index (object, actor, time).
func (s *Store) AuditLog(ctx context.Context, q domain.AuditQuery, after *app.AuditCursor, limit int) ([]domain.AuditEntry, error) {
	var (
		args  []any
		where []string
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	for col, v := range map[string]string{"object_kind": q.ObjectKind, "object_id": q.ObjectID, "actor": q.Actor, "action": q.Action} {
		if v != "" {
			where = append(where, col+" = "+arg(v))
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= "+arg(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "at < "+arg(q.Until))
	}
	if after != nil {
		where = append(where, "(audit_log.at, audit_log.id) < ("+arg(after.At)+"::timestamptz, "+arg(after.ID)+"::uuid)")
	}
	filter := ""
	if len(where) > 0 {
		filter = "WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.Pool.Query(ctx, `
		SELECT id::text, at, actor, key_id, action, object_kind, object_id, before::text, after::text, note
		FROM audit_log `+filter+` ORDER BY audit_log.at DESC, audit_log.id DESC LIMIT `+arg(limit), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.AuditEntry, error) {
		var (
			e             domain.AuditEntry
			before, after *string
		)
		err := row.Scan(&e.ID, at(&e.At), &e.Actor.Name, &e.Actor.KeyID, &e.Action, &e.ObjectKind, &e.ObjectID, &before, &after, &e.Note)
		if before != nil {
			e.Before = []byte(*before)
		}
		if after != nil {
			e.After = []byte(*after)
		}
		return e, err
	})
}
