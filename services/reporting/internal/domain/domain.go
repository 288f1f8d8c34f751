// Package domain holds the reporting rules: how answers become NPS figures, how point
// movements become the programme's liability, and how a batch of events folds into a few
// read-model changes. It does no I/O.
package domain

import (
	"errors"
	"time"
)

// ErrInvalidEvent wraps every reason an event cannot be applied; no retry cures it.
var ErrInvalidEvent = errors.New("invalid event")

// DayLayout formats a day as the API and the dashboard show it.
const DayLayout = "2006-01-02"

// DayOf returns the UTC calendar day of t, as midnight UTC.
func DayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// cellSet gathers a batch's roll-up increments by key, one cell per key, in the order the
// keys first come.
type cellSet[K comparable, C any] struct {
	idx   map[K]int
	cells []C
}

// at returns the cell of k, made by fresh when k is new.
func (s *cellSet[K, C]) at(k K, fresh func() C) *C {
	i, ok := s.idx[k]
	if !ok {
		if s.idx == nil {
			s.idx = map[K]int{}
		}
		i = len(s.cells)
		s.idx[k] = i
		s.cells = append(s.cells, fresh())
	}
	return &s.cells[i]
}
