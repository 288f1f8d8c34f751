package app

import (
	"context"
)

// DefaultPageSize is the page size when a caller asks for none.
const DefaultPageSize = 50

// ListInvitations lists a member's invitations, newest first, with their links.
type ListInvitations struct {
	store Store
	links *Links
}

// ListInvitationsQuery asks for one page.
type ListInvitationsQuery struct {
	MemberID string
	PageSize int
	After    *Cursor
}

// Handle returns a page and the cursor of the next one (nil on the last page).
func (h *ListInvitations) Handle(ctx context.Context, q ListInvitationsQuery) ([]InvitationView, *Cursor, error) {
	size := q.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	list, err := h.store.ListInvitations(ctx, q.MemberID, q.After, size+1)
	if err != nil {
		return nil, nil, err
	}
	var next *Cursor
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		next = &Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	for i := range list {
		if list[i].URL, err = h.links.URL(list[i].Invitation); err != nil {
			return nil, nil, err
		}
	}
	return list, next, nil
}
