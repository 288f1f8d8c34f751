package domain

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// FunnelStep is a step of the survey funnel: what became of invitations.
type FunnelStep string

const (
	// StepCreated: an invitation was created (scheduled, or a receipt link issued).
	StepCreated FunnelStep = "created"
	// StepSent: an invitation reached its channel; StepReminded: its reminder did.
	StepSent     FunnelStep = "sent"
	StepReminded FunnelStep = "reminded"
	// StepSuppressed: the contact policy held one back (at its trigger or when due),
	// with a reason.
	StepSuppressed FunnelStep = "suppressed"
	// StepFailed: every attempt to deliver one failed.
	StepFailed FunnelStep = "failed"
)

// FunnelEvent is one invitation's step, on the UTC day it happened; Reason is a
// suppression's (FREQUENCY_CAP, NO_CONSENT, ...), "" for the other steps.
type FunnelEvent struct {
	Day    time.Time
	Step   FunnelStep
	Reason string
}

// NewFunnelEvent checks a step: it must be dated, and only a suppression has a reason
// (UNSPECIFIED when the survey gave none).
func NewFunnelEvent(step FunnelStep, reason string, at time.Time) (FunnelEvent, error) {
	if at.IsZero() {
		return FunnelEvent{}, fmt.Errorf("%w: invitation %s has no time", ErrInvalidEvent, step)
	}
	if step == StepSuppressed && reason == "" {
		reason = "UNSPECIFIED"
	}
	if step != StepSuppressed {
		reason = ""
	}
	return FunnelEvent{Day: DayOf(at), Step: step, Reason: reason}, nil
}

// FunnelCell is the count of one (day, step, reason) of the daily funnel.
type FunnelCell struct {
	Day    time.Time
	Step   FunnelStep
	Reason string
	Count  int64
}

// TallyFunnel folds a batch of steps into increments, one per cell, in key order.
func TallyFunnel(events []FunnelEvent) []FunnelCell {
	idx := map[FunnelEvent]int{}
	var cells []FunnelCell
	for _, e := range events {
		i, ok := idx[e]
		if !ok {
			i = len(cells)
			idx[e] = i
			cells = append(cells, FunnelCell{Day: e.Day, Step: e.Step, Reason: e.Reason})
		}
		cells[i].Count++
	}
	slices.SortFunc(cells, func(a, b FunnelCell) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Step, b.Step), cmp.Compare(a.Reason, b.Reason))
	})
	return cells
}

// FunnelReport is the survey funnel of a period: how many invitations were created,
// sent, reminded, suppressed (and why) and failed.
type FunnelReport struct {
	Period                                      Period
	Created, Sent, Reminded, Suppressed, Failed int64
	// SuppressedByReason lists the reasons seen, by name.
	SuppressedByReason []FunnelReason
}

// FunnelReason is the suppressions of one reason.
type FunnelReason struct {
	Reason string
	Count  int64
}

// NewFunnelReport sums the cells of a period.
func NewFunnelReport(p Period, cells []FunnelCell) FunnelReport {
	r := FunnelReport{Period: p}
	reasons := map[string]int64{}
	for _, c := range cells {
		switch c.Step {
		case StepCreated:
			r.Created += c.Count
		case StepSent:
			r.Sent += c.Count
		case StepReminded:
			r.Reminded += c.Count
		case StepSuppressed:
			r.Suppressed += c.Count
			reasons[c.Reason] += c.Count
		case StepFailed:
			r.Failed += c.Count
		}
	}
	for reason, n := range reasons {
		r.SuppressedByReason = append(r.SuppressedByReason, FunnelReason{Reason: reason, Count: n})
	}
	slices.SortFunc(r.SuppressedByReason, func(a, b FunnelReason) int { return cmp.Compare(a.Reason, b.Reason) })
	return r
}
