package pg_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// poolWith returns a pool on schema svc of a fresh database, with ddl run in it.
func poolWith(t *testing.T, ddl string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testkit.Database(t), "svc", 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, "CREATE SCHEMA svc; "+ddl); err != nil {
		t.Fatal(err)
	}
	return pool
}

// InsertRows takes the INSERT path for a few rows and COPY for a batch; both must store
// the same values (binary UUIDs, NULLs, json, times) and fail on a key used before.
func TestInsertRowsStoresFewRowsAndBatchesAlike(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := poolWith(t, `CREATE TABLE svc.items (
		id uuid PRIMARY KEY, name text NOT NULL, parent uuid, doc json NOT NULL, at timestamptz NOT NULL, n int2 NOT NULL)`)
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

// A pipeline sends its statements in order and fails on the first statement or check
// that fails.
func TestPipelineRunsQueuedStatementsInOrderAndChecksThem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := poolWith(t, `CREATE TABLE svc.counters (name text PRIMARY KEY, n int NOT NULL CHECK (n >= 0))`)
	rowsAffected := func(want int64) func(pgconn.CommandTag) error {
		return func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != want {
				return fmt.Errorf("%d rows affected, want %d", tag.RowsAffected(), want)
			}
			return nil
		}
	}
	run := func(fill func(tx pgx.Tx, p *pg.Pipeline) error) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var p pg.Pipeline
			if err := fill(tx, &p); err != nil {
				return err
			}
			return p.Send(ctx, tx)
		})
	}
	// Inserts (a few queued, a batch copied at once), then updates that need them.
	batch := make([][]any, pg.CopyThreshold)
	for i := range batch {
		batch[i] = []any{fmt.Sprintf("b%02d", i), 1}
	}
	if err := run(func(tx pgx.Tx, p *pg.Pipeline) error {
		if err := p.Insert(ctx, tx, "counters", []string{"name", "n"}, [][]any{{"a", 1}, {"b", 2}}); err != nil {
			return err
		}
		if err := p.Insert(ctx, tx, "counters", []string{"name", "n"}, batch); err != nil {
			return err
		}
		p.Queue(rowsAffected(2), `UPDATE counters SET n = n * 10 WHERE name IN ('a', 'b')`)
		p.Queue(rowsAffected(pg.CopyThreshold), `UPDATE counters SET n = n + 1 WHERE name LIKE 'b_%'`)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var a, b, sum int
	if err := pool.QueryRow(ctx, `SELECT (SELECT n FROM counters WHERE name = 'a'), (SELECT n FROM counters WHERE name = 'b'),
		(SELECT sum(n) FROM counters WHERE name LIKE 'b_%')`).Scan(&a, &b, &sum); err != nil {
		t.Fatal(err)
	}
	if a != 10 || b != 20 || sum != 2*pg.CopyThreshold {
		t.Fatalf("a = %d, b = %d, batch sum = %d; want 10, 20, %d", a, b, sum, 2*pg.CopyThreshold)
	}

	// A check that fails, and a statement that fails: the transaction rolls back.
	err := run(func(tx pgx.Tx, p *pg.Pipeline) error {
		p.Queue(nil, `UPDATE counters SET n = 0`)
		p.Queue(rowsAffected(1), `UPDATE counters SET n = 5 WHERE name = 'nobody'`)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "0 rows affected, want 1") {
		t.Fatalf("failed check: got %v", err)
	}
	err = run(func(tx pgx.Tx, p *pg.Pipeline) error {
		p.Queue(nil, `UPDATE counters SET n = 0`)
		p.Queue(nil, `UPDATE counters SET n = -1 WHERE name = 'a'`)
		p.Queue(nil, `UPDATE counters SET n = 7`)
		return nil
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23514" {
		t.Fatalf("failed statement: got %v, want a check violation", err)
	}
	if err := pool.QueryRow(ctx, `SELECT n FROM counters WHERE name = 'a'`).Scan(&a); err != nil || a != 10 {
		t.Fatalf("after the failed transactions a = %d (%v), want 10", a, err)
	}
}
