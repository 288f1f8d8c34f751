package app

import (
	"context"

	"github.com/treue/treue/services/survey/internal/domain"
)

// ListSurveys lists surveys, newest first.
type ListSurveys struct {
	store Store
}

// ListSurveysQuery asks for one page.
type ListSurveysQuery struct {
	PageSize       int
	After          *Cursor
	IncludeRetired bool
}

// Handle returns a page and the cursor of the next one (nil on the last page).
func (h *ListSurveys) Handle(ctx context.Context, q ListSurveysQuery) ([]domain.Survey, *Cursor, error) {
	size := q.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	list, err := h.store.ListSurveys(ctx, q.After, size+1, q.IncludeRetired)
	if err != nil {
		return nil, nil, err
	}
	var next *Cursor
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		next = &Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return list, next, nil
}
