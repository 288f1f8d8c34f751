package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// SetTopic creates or replaces a topic of the taxonomy.
type SetTopic struct{ store Store }

// Handle validates t (a *domain.FieldError when invalid) and stores it.
func (h SetTopic) Handle(ctx context.Context, t domain.Topic) (domain.Topic, error) {
	if err := domain.ValidateTopic(t); err != nil {
		return domain.Topic{}, err
	}
	var out domain.Topic
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		out, err = tx.SetTopic(ctx, t)
		return err
	})
	return out, err
}
