package pg_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// InsertRows takes the INSERT path for a few rows and COPY for a batch; both must store
// the same values (binary UUIDs, NULLs, json, times) and fail on a key used before.
func TestInsertRowsStoresFewRowsAndBatchesAlike(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testkit.Database(t), "svc", 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE SCHEMA svc; CREATE TABLE svc.items (
		id uuid PRIMARY KEY, name text NOT NULL, parent uuid, doc json NOT NULL, at timestamptz NOT NULL, n int2 NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	columns := []string{"id", "name", "parent", "doc", "at", "n"}
	makeRows := func(n int) ([][]any, []uuid.UUID) {
		rows := make([][]any, n)
		ids := make([]uuid.UUID, n)
		for i := range rows {
			ids[i] = uuid.Must(uuid.NewV7())
			var parent any // NULL for odd rows
			if i%2 == 0 {
				parent = [16]byte(ids[0])
			}
			rows[i] = []any{[16]byte(ids[i]), fmt.Sprintf("item %d", i), parent, []byte(`{"i":` + fmt.Sprint(i) + `}`), at, int16(i)}
		}
		return rows, ids
	}
	for _, n := range []int{1, 3, 31, 32, 500} {
		rows, ids := makeRows(n)
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return pg.InsertRows(ctx, tx, "items", columns, rows)
		}); err != nil {
			t.Fatalf("%d rows: %v", n, err)
		}
		var (
			count, nulls, sum int
			last              string
			lastAt            time.Time
		)
		if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE parent IS NULL), sum((doc->>'i')::int),
				max(name) FILTER (WHERE id = $2), max(at) FROM items WHERE id = ANY($1)`, ids, ids[n-1]).
			Scan(&count, &nulls, &sum, &last, &lastAt); err != nil {
			t.Fatal(err)
		}
		if count != n || nulls != n/2 || sum != n*(n-1)/2 || last != fmt.Sprintf("item %d", n-1) || !lastAt.Equal(at) {
			t.Fatalf("%d rows: stored count %d, nulls %d, sum %d, last %q at %v", n, count, nulls, sum, last, lastAt)
		}
		// The same rows again: one statement, so the key conflict fails all of them.
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return pg.InsertRows(ctx, tx, "items", columns, rows)
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			t.Fatalf("%d rows inserted twice: got %v, want a unique violation", n, err)
		}
	}
	if err := pg.InsertRows(ctx, nil, "items", columns, nil); err != nil {
		t.Fatalf("no rows: %v", err)
	}
}
