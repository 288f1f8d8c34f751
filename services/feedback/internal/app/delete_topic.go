package app

import "context"

// DeleteTopic deletes a topic; cases keep the topics they were tagged with.
type DeleteTopic struct{ store Store }

// Handle returns domain.ErrTopicNotFound when no topic has key.
func (h DeleteTopic) Handle(ctx context.Context, key string) error {
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.DeleteTopic(ctx, key) })
}
