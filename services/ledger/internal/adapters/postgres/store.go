// Package postgres keeps the ledger in Postgres: members, accounts, the journal, POS
// purchases and returns, holds, and the outbox events of each change. SQL only: the
// use cases decide, this package stores.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// Store is the ledger's app.Store on a database whose search_path is the ledger schema.
type Store struct {
	db     *pg.DB
	outbox *bus.Outbox
}

// NewStore returns the store on db (whose commits wake the outbox relay) that emits
// through outbox.
func NewStore(db *pg.DB, outbox *bus.Outbox) *Store { return &Store{db: db, outbox: outbox} }

var _ app.Store = (*Store)(nil)

// InTx runs fn in the transaction ctx carries (an event consumer's batch) or in one of
// its own.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return fn(ctx, &ledgerTx{tx: tx, outbox: s.outbox, locked: map[string]bool{}})
	})
}

const memberColumns = `id::text, display_name, email, locale, survey_consent, marketing_consent, tier, enrolled_at,
	erased_at, erasure_reason, time_zone, referral_code`

// scanMember reads memberColumns and then dest.
func scanMember(row pgx.Row, dest ...any) (domain.Member, error) {
	var m domain.Member
	err := row.Scan(append([]any{&m.ID, &m.DisplayName, &m.Email, &m.Locale, &m.SurveyConsent, &m.MarketingConsent,
		&m.Tier, at(&m.EnrolledAt), at(&m.ErasedAt), &m.ErasureReason, &m.TimeZone, &m.ReferralCode}, dest...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, domain.ErrMemberNotFound
	}
	return m, err
}

// Member returns the member with id (a canonical UUID).
func (s *Store) Member(ctx context.Context, id string) (domain.Member, error) {
	return scanMember(s.db.Pool.QueryRow(ctx, `SELECT `+memberColumns+` FROM members WHERE id = $1`, id))
}

// Balance reads the stored balances of the member's accounts.
func (s *Store) Balance(ctx context.Context, memberID string) (domain.Balance, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT name, balance FROM accounts WHERE name = ANY($1)`, domain.MemberAccounts(memberID))
	if err != nil {
		return domain.Balance{}, err
	}
	b := domain.Balance{MemberID: memberID}
	found := false
	var (
		name    string
		balance int64
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &balance}, func() error {
		switch name {
		case domain.AvailableAccount(memberID):
			b.Available, found = balance, true
		case domain.HoldAccount(memberID):
			b.Held = balance
		case domain.PendingAccount(memberID):
			b.Pending = balance
		case domain.DebtAccount(memberID):
			b.Debt = balance
		}
		return nil
	})
	if err != nil {
		return domain.Balance{}, err
	}
	if !found {
		return domain.Balance{}, domain.ErrMemberNotFound
	}
	err = s.db.Pool.QueryRow(ctx, `SELECT debt_flagged_at IS NOT NULL FROM members WHERE id = $1`, memberID).Scan(&b.DebtFlagged)
	return b, err
}

// Transactions reads a page of the member's history with its postings, in two queries.
func (s *Store) Transactions(ctx context.Context, memberID string, after *app.Cursor, limit int) ([]domain.Transaction, error) {
	const cols = `SELECT id::text, idempotency_key, kind, reason, reference, created_at FROM transactions `
	var (
		rows pgx.Rows
		err  error
	)
	if after == nil {
		rows, err = s.db.Pool.Query(ctx, cols+`WHERE member_id = $1 ORDER BY id DESC LIMIT $2`, memberID, limit)
	} else {
		rows, err = s.db.Pool.Query(ctx, cols+`WHERE member_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, memberID, after.ID, limit)
	}
	if err != nil {
		return nil, err
	}
	txs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Transaction, error) {
		t := domain.Transaction{MemberID: memberID}
		err := row.Scan(&t.ID, &t.IdempotencyKey, &t.Kind, &t.Reason, &t.Reference, at(&t.CreatedAt))
		return t, err
	})
	if err != nil || len(txs) == 0 {
		return txs, err
	}
	ids := make([]string, len(txs))
	index := make(map[string]int, len(txs))
	for i, t := range txs {
		ids[i], index[t.ID] = t.ID, i
	}
	rows, err = s.db.Pool.Query(ctx, `SELECT transaction_id::text, source, destination, amount FROM postings
		WHERE transaction_id = ANY($1::uuid[]) ORDER BY transaction_id, seq`, ids)
	if err != nil {
		return nil, err
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
		txs[i].Postings = append(txs[i].Postings, p)
		return nil
	})
	return txs, err
}

// at scans a timestamptz into t, in UTC so that it compares equal to what was written;
// NULL leaves the zero time.
func at(t *time.Time) pgtype.TimestamptzScanner { return utcTime{t} }

type utcTime struct{ t *time.Time }

func (u utcTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		*u.t = time.Time{}
	case v.InfinityModifier != pgtype.Finite:
		return fmt.Errorf("timestamp %v is infinite", v.InfinityModifier)
	default:
		*u.t = v.Time.UTC()
	}
	return nil
}
