package app

import (
	"context"
	"time"
)

// TimelineEntry is one thing in a member's timeline: a survey response, a move of one
// of their cases (case), a note on one (note), or a loyalty event the ledger announced.
type TimelineEntry struct {
	At   time.Time
	Kind string
	// Key orders entries of one instant and names the entry in a cursor.
	Key string
	// Response, of a response.
	Response *ResponseFacts
	// Of a case or a note: the case, its team, the move and who made it.
	CaseID, Team, Action, FromStatus, ToStatus, Note, By string
	// Of a loyalty event.
	Points           int64
	Reason           string
	Reference        string
	FromTier, ToTier string
}

// Kinds of timeline entries beside the member's events.
const (
	TimelineCase = "case"
	TimelineNote = "note"
)

// TimelineCursor is where a page of the timeline starts: after the entry at At with Key.
type TimelineCursor struct {
	At  time.Time
	Key string
}

// TimelineQuery asks for one page of a member's timeline.
type TimelineQuery struct {
	MemberID string
	PageSize int
	After    *TimelineCursor
}

// TimelinePage is one page of the timeline, newest first, and where the next starts
// (nil at the end).
type TimelinePage struct {
	Entries []TimelineEntry
	Next    *TimelineCursor
}

// TimelineStore reads the timeline.
type TimelineStore interface {
	// Timeline returns up to limit entries of the member's timeline after the cursor,
	// newest first (ties by Key, descending).
	Timeline(ctx context.Context, memberID string, after *TimelineCursor, limit int) ([]TimelineEntry, error)
}

// GetCustomerTimeline pages through a member's timeline: responses, cases' moves and
// notes, and loyalty events, across departments.
type GetCustomerTimeline struct{ store Store }

// Handle returns one page. An unknown or erased member's timeline is empty.
func (h GetCustomerTimeline) Handle(ctx context.Context, q TimelineQuery) (TimelinePage, error) {
	size := q.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	entries, err := h.store.Timeline(ctx, q.MemberID, q.After, size+1)
	if err != nil {
		return TimelinePage{}, err
	}
	page := TimelinePage{Entries: entries}
	if len(entries) > size {
		page.Entries = entries[:size]
		last := page.Entries[size-1]
		page.Next = &TimelineCursor{At: last.At, Key: last.Key}
	}
	return page, nil
}
