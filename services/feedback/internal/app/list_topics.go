package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ListTopics returns the taxonomy by key.
type ListTopics struct{ store Store }

// Handle returns the topics.
func (h ListTopics) Handle(ctx context.Context) ([]domain.Topic, error) {
	var out []domain.Topic
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		out, err = tx.Topics(ctx)
		return err
	})
	return out, err
}
