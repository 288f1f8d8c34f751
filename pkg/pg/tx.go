package pg

import (
	"context"
	"sync"

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

// txState is a transaction and what waits for its commit.
type txState struct {
	tx pgx.Tx
	mu sync.Mutex
	// onCommit run once the transaction committed (AfterCommit), in order.
	onCommit []func()
}

// WithTx returns ctx carrying tx, for the use cases that run inside it. Whoever begins
// tx calls Committed with the returned context once tx committed.
func WithTx(ctx context.Context, tx pgx.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, &txState{tx: tx})
}

// TxFrom returns the transaction ctx carries, if any.
func TxFrom(ctx context.Context) (pgx.Tx, bool) {
	s, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		return nil, false
	}
	return s.tx, true
}

// AfterCommit runs fn once the transaction ctx carries has committed, and never when it
// rolls back: what a use case did is counted (a business metric) only when it stands, and
// a batch retried after a rollback counts once. Without a transaction in ctx the caller's
// work has already committed (a gRPC call's use case commits before it returns), so fn
// runs at once.
func AfterCommit(ctx context.Context, fn func()) {
	s, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		fn()
		return
	}
	s.mu.Lock()
	s.onCommit = append(s.onCommit, fn)
	s.mu.Unlock()
}

// Committed runs what AfterCommit registered on the transaction ctx carries (a context
// WithTx returned); its beginner calls it once the transaction committed.
func Committed(ctx context.Context) {
	s, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		return
	}
	s.mu.Lock()
	fns := s.onCommit
	s.onCommit = nil
	s.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// InTx runs fn in the transaction ctx carries, or else in a new one that is committed
// when fn returns nil and rolled back otherwise. fn's context carries the transaction.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if tx, ok := TxFrom(ctx); ok {
		return fn(ctx, tx)
	}
	var txCtx context.Context
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		txCtx = WithTx(ctx, tx)
		return fn(txCtx, tx)
	})
	if err != nil {
		return err
	}
	if db.afterCommit != nil {
		db.afterCommit()
	}
	Committed(txCtx)
	return nil
}
