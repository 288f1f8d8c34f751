package domain

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// CaseChange is what one feedback event tells about a follow-up case. Zero fields are
// unknown to that event.
type CaseChange struct {
	ID         string
	Kind       string
	Team       string
	Touchpoint string
	StoreID    string
	Outcome    string
	OpenedAt   time.Time
	DueAt      time.Time
	ResolvedAt time.Time
}

// CaseOpened checks the facts of an opened case.
func CaseOpened(c CaseChange) (CaseChange, error) { return checkCase(c, "opened", c.OpenedAt) }

// CaseResolved checks the facts of a resolved case.
func CaseResolved(c CaseChange) (CaseChange, error) { return checkCase(c, "resolved", c.ResolvedAt) }

// checkCase refuses a change that names no case or lacks the time of what happened.
func checkCase(c CaseChange, happened string, at time.Time) (CaseChange, error) {
	if c.ID == "" {
		return CaseChange{}, fmt.Errorf("%w: case %s without case_id", ErrInvalidEvent, happened)
	}
	if at.IsZero() {
		return CaseChange{}, fmt.Errorf("%w: case %s %s without %s_at", ErrInvalidEvent, c.ID, happened, happened)
	}
	return c, nil
}

// MergeCaseChanges folds a batch into one change per case, in id order: a later event's
// known fields win over an earlier one's. One row per case lets the batch be written
// with a single upsert.
func MergeCaseChanges(changes []CaseChange) []CaseChange {
	idx := map[string]int{}
	var out []CaseChange
	for _, c := range changes {
		i, ok := idx[c.ID]
		if !ok {
			idx[c.ID] = len(out)
			out = append(out, c)
			continue
		}
		m := &out[i]
		m.Kind = cmp.Or(c.Kind, m.Kind)
		m.Team = cmp.Or(c.Team, m.Team)
		m.Touchpoint = cmp.Or(c.Touchpoint, m.Touchpoint)
		m.StoreID = cmp.Or(c.StoreID, m.StoreID)
		m.Outcome = cmp.Or(c.Outcome, m.Outcome)
		m.OpenedAt = laterKnown(m.OpenedAt, c.OpenedAt)
		m.DueAt = laterKnown(m.DueAt, c.DueAt)
		m.ResolvedAt = laterKnown(m.ResolvedAt, c.ResolvedAt)
	}
	slices.SortFunc(out, func(a, b CaseChange) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func laterKnown(old, next time.Time) time.Time {
	if next.IsZero() {
		return old
	}
	return next
}

// CaseStats are the follow-up figures.
type CaseStats struct {
	Open     int64
	Resolved int64
	// Overdue counts open cases past their due time.
	Overdue int64
	// MedianFollowUp is the median time from opening to resolution; valid only when
	// Resolved > 0.
	MedianFollowUp time.Duration
}
