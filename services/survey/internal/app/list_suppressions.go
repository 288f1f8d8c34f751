package app

import (
	"context"

	"github.com/treue/treue/services/survey/internal/domain"
)

// ListSuppressions lists what the contact policy held back, newest first.
type ListSuppressions struct{ store Store }

// Handle returns a page and the cursor of the next one (nil on the last page).
func (h *ListSuppressions) Handle(ctx context.Context, f SuppressionFilter, pageSize int, after *Cursor) ([]domain.Suppression, *Cursor, error) {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	list, err := h.store.ListSuppressions(ctx, f, after, pageSize+1)
	if err != nil {
		return nil, nil, err
	}
	var next *Cursor
	if len(list) > pageSize {
		list = list[:pageSize]
		last := list[pageSize-1]
		next = &Cursor{CreatedAt: last.At, ID: last.ID}
	}
	return list, next, nil
}
