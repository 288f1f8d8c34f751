package pg_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/pg"
)

func TestInTxJoinsTheTransactionInItsContext(t *testing.T) {
	t.Parallel()
	pool := poolWith(t, `CREATE TABLE t (v int)`)
	ctx := context.Background()
	commits := 0
	db := pg.NewDB(pool, func() { commits++ })

	// An outer transaction (a consumer's batch) that rolls back takes the inner use
	// case's write with it, and the inner call does not commit on its own.
	outer := errors.New("batch failed")
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := db.InTx(pg.WithTx(ctx, tx), func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO t VALUES (1)`)
			return err
		}); err != nil {
			return err
		}
		return outer
	})
	if !errors.Is(err, outer) {
		t.Fatalf("outer = %v", err)
	}
	// On its own it commits, and says so.
	if err := db.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if got, ok := pg.TxFrom(ctx); !ok || got != tx {
			t.Error("fn's context does not carry its transaction")
		}
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES (2)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var vals []int
	rows, _ := pool.Query(ctx, `SELECT v FROM t ORDER BY v`)
	vals, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 1 || vals[0] != 2 || commits != 1 {
		t.Fatalf("rows %v, commits %d; want [2] and 1", vals, commits)
	}
}

func TestAfterCommitRunsOnlyOnceTheTransactionCommitted(t *testing.T) {
	t.Parallel()
	pool := poolWith(t, `CREATE TABLE t (v int)`)
	ctx := context.Background()
	db := pg.NewDB(pool, nil)
	var ran []string

	// Registered inside: runs after the commit, not before.
	if err := db.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		pg.AfterCommit(ctx, func() { ran = append(ran, "committed") })
		if len(ran) != 0 {
			t.Error("ran before the commit")
		}
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES (1)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// A rolled-back transaction runs nothing.
	failed := errors.New("use case failed")
	if err := db.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		pg.AfterCommit(ctx, func() { ran = append(ran, "rolled back") })
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("err = %v", err)
	}
	// A use case joining an outer transaction (a consumer's batch) waits for the outer
	// commit, and its beginner runs what waits with Committed.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		txCtx := pg.WithTx(ctx, tx)
		if err := db.InTx(txCtx, func(ctx context.Context, tx pgx.Tx) error {
			pg.AfterCommit(ctx, func() { ran = append(ran, "outer") })
			return nil
		}); err != nil {
			return err
		}
		if len(ran) != 1 {
			t.Errorf("joined transaction ran its hook before the outer commit: %v", ran)
		}
		pg.Committed(txCtx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Without a transaction, the work is already committed: at once.
	pg.AfterCommit(ctx, func() { ran = append(ran, "no tx") })
	want := []string{"committed", "outer", "no tx"}
	if len(ran) != len(want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
	for i := range want {
		if ran[i] != want[i] {
			t.Fatalf("ran %v, want %v", ran, want)
		}
	}
}
