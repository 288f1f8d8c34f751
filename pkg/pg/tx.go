package pg

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB runs a service's use cases in transactions. It is the one way a service's store
// begins one: a use case called while a transaction is already open in its context (an
// event consumer's batch, which also holds the batch's inbox rows) joins that
// transaction instead, so the same use case serves a gRPC call and an event alike.
type DB struct {
	Pool *pgxpool.Pool
	// afterCommit runs after every transaction DB itself committed (the service wakes
	// its outbox relay, so no event waits for the relay's poll).
	afterCommit func()
}

// NewDB returns a DB over pool; afterCommit may be nil.
func NewDB(pool *pgxpool.Pool, afterCommit func()) *DB {
	return &DB{Pool: pool, afterCommit: afterCommit}
}

type txKey struct{}

// WithTx returns ctx carrying tx, for the use cases that run inside it.
func WithTx(ctx context.Context, tx pgx.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// TxFrom returns the transaction ctx carries, if any.
func TxFrom(ctx context.Context) (pgx.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(pgx.Tx)
	return tx, ok
}

// InTx runs fn in the transaction ctx carries, or else in a new one that is committed
// when fn returns nil and rolled back otherwise. fn's context carries the transaction.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if tx, ok := TxFrom(ctx); ok {
		return fn(ctx, tx)
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		return fn(WithTx(ctx, tx), tx)
	})
	if err == nil && db.afterCommit != nil {
		db.afterCommit()
	}
	return err
}
