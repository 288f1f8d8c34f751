package pg

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// copyThreshold is the row count from which InsertRows uses COPY. COPY writes a batch
// with the least work for the server, but takes two round trips (the statement, then
// the data) where an INSERT takes one; below this many rows the round trip costs more
// than COPY saves.
const copyThreshold = 32

// InsertRows inserts rows (values in the order of columns) into table: with COPY for
// a batch, with one multi-row INSERT for a few rows. Either way it is one statement: a
// key already present fails it.
func InsertRows(ctx context.Context, tx pgx.Tx, table string, columns []string, rows [][]any) error {
	switch {
	case len(rows) == 0:
		return nil
	case len(rows) >= copyThreshold:
		_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		return err
	}
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
	_, err := tx.Exec(ctx, b.String(), args...)
	return err
}
