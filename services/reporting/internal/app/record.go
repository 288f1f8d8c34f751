package app

import "context"

// Record is the shape of every command that counts events: it folds a batch of facts
// (answers, point movements, case changes, coupons) into a few read-model changes and
// writes them with one statement, in the transaction ctx carries (the consumer's batch).
type Record[F, C any] struct {
	store Store
	fold  func([]F) []C
	write func(tx Tx, ctx context.Context, changes []C) error
}

// Handle counts a batch of facts.
func (r Record[F, C]) Handle(ctx context.Context, facts []F) error {
	if len(facts) == 0 {
		return nil
	}
	changes := r.fold(facts)
	if len(changes) == 0 {
		return nil // a batch of answers of other kinds
	}
	return r.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return r.write(tx, ctx, changes) })
}
