package app

import (
	"context"

	"github.com/treue/treue/services/survey/internal/domain"
)

// ListDeliveries lists the delivery log, newest first.
type ListDeliveries struct{ store Store }

// NewListDeliveries returns the query.
func NewListDeliveries(store Store) *ListDeliveries { return &ListDeliveries{store: store} }

// MaxDeliveriesPage is the largest page; DefaultDeliveriesPage the page of a size 0.
const (
	MaxDeliveriesPage     = 500
	DefaultDeliveriesPage = 50
)

// Handle returns a page of deliveries and the cursor of the next page (nil: the last).
func (q *ListDeliveries) Handle(ctx context.Context, invitationID string, failedOnly bool, after *Cursor, size int) ([]domain.Delivery, *Cursor, error) {
	if size <= 0 {
		size = DefaultDeliveriesPage
	}
	if size > MaxDeliveriesPage {
		size = MaxDeliveriesPage
	}
	list, err := q.store.ListDeliveries(ctx, invitationID, failedOnly, after, size+1)
	if err != nil {
		return nil, nil, err
	}
	var next *Cursor
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		next = &Cursor{CreatedAt: last.AttemptedAt, ID: last.ID}
	}
	return list, next, nil
}
