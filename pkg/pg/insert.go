package pg

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// CopyThreshold is the row count from which InsertRows uses COPY. COPY writes a batch
// with the least work for the server, but takes two round trips (the statement, then
// the data) where an INSERT takes one; below this many rows the round trip costs more
// than COPY saves.
const CopyThreshold = 32

// InsertRows inserts rows (values in the order of columns) into table: with COPY for
// a batch, with one multi-row INSERT for a few rows. Either way it is one statement: a
// key already present fails it.
func InsertRows(ctx context.Context, tx pgx.Tx, table string, columns []string, rows [][]any) error {
	switch {
	case len(rows) == 0:
		return nil
	case len(rows) >= CopyThreshold:
		_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		return err
	}
	sql, args := InsertSQL(table, columns, rows)
	_, err := tx.Exec(ctx, sql, args...)
	return err
}

// InsertSQL is one multi-row INSERT of rows into table, for a few rows (it takes a
// parameter per value, and Postgres allows 65535), e.g. to queue in a pgx.Batch.
func InsertSQL(table string, columns []string, rows [][]any) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(pgx.Identifier{table}.Sanitize())
	b.WriteString(" (")
	for i, c := range columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{c}.Sanitize())
	}
	b.WriteString(") VALUES ")
	args := make([]any, 0, len(rows)*len(columns))
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, v := range row {
			if j > 0 {
				b.WriteString(", ")
			}
			args = append(args, v)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(len(args)))
		}
		b.WriteByte(')')
	}
	return b.String(), args
}

// Pipeline queues statements whose results nothing waits for and sends them in one
// round trip: a transaction's writes cost one wait on the network instead of one each.
// COPY cannot join a pipeline, so a batch of rows goes ahead of it at once.
type Pipeline struct {
	batch  pgx.Batch
	checks []func(pgconn.CommandTag) error
}

// Insert queues an insert of rows into table, or with a batch of rows inserts them now
// with COPY.
func (p *Pipeline) Insert(ctx context.Context, tx pgx.Tx, table string, columns []string, rows [][]any) error {
	if len(rows) >= CopyThreshold {
		return InsertRows(ctx, tx, table, columns, rows)
	}
	if len(rows) > 0 {
		sql, args := InsertSQL(table, columns, rows)
		p.Queue(nil, sql, args...)
	}
	return nil
}

// Queue queues a statement; check, if not nil, judges its command tag (rows affected).
func (p *Pipeline) Queue(check func(pgconn.CommandTag) error, sql string, args ...any) {
	p.batch.Queue(sql, args...)
	p.checks = append(p.checks, check)
}

// Send sends the queued statements and returns the first error, of a statement or of a
// check. The pipeline is empty afterwards.
func (p *Pipeline) Send(ctx context.Context, tx pgx.Tx) (err error) {
	if p.batch.Len() == 0 {
		return nil
	}
	batch, checks := p.batch, p.checks
	p.batch, p.checks = pgx.Batch{}, nil
	br := tx.SendBatch(ctx, &batch)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	for _, check := range checks {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(tag); err != nil {
				return err
			}
		}
	}
	return nil
}
