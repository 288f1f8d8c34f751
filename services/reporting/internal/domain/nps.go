package domain

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// NpsClass is the class of a 0-10 "how likely are you to recommend us" answer.
type NpsClass int

const (
	Detractor NpsClass = iota + 1 // 0-6
	Passive                       // 7-8
	Promoter                      // 9-10
)

// ClassifyScore returns the class of a 0-10 answer.
func ClassifyScore(score int) (NpsClass, error) {
	switch {
	case score < 0 || score > 10:
		return 0, fmt.Errorf("%w: NPS score %d is outside 0-10", ErrInvalidEvent, score)
	case score <= 6:
		return Detractor, nil
	case score <= 8:
		return Passive, nil
	default:
		return Promoter, nil
	}
}

// NpsCounts counts answers by class.
type NpsCounts struct {
	Promoters  int64
	Passives   int64
	Detractors int64
}

// Responses is the number of answers counted.
func (c NpsCounts) Responses() int64 { return c.Promoters + c.Passives + c.Detractors }

// Score is the Net Promoter Score, (promoters - detractors) / responses * 100, from -100
// to 100; 0 when there are no responses.
func (c NpsCounts) Score() float64 {
	n := c.Responses()
	if n == 0 {
		return 0
	}
	// Multiplying first keeps whole results exact (30, not 30.000000000000004).
	return float64(c.Promoters-c.Detractors) * 100 / float64(n)
}

// Plus returns the sum of two counts.
func (c NpsCounts) Plus(o NpsCounts) NpsCounts {
	return NpsCounts{Promoters: c.Promoters + o.Promoters, Passives: c.Passives + o.Passives, Detractors: c.Detractors + o.Detractors}
}

func (c NpsCounts) with(class NpsClass) NpsCounts {
	switch class {
	case Promoter:
		c.Promoters++
	case Passive:
		c.Passives++
	case Detractor:
		c.Detractors++
	}
	return c
}

// ScoreKind is the kind of a response's score.
type ScoreKind string

const (
	KindNPS  ScoreKind = "NPS"  // 0-10, classed
	KindCSAT ScoreKind = "CSAT" // 1-5, satisfied 4-5
	KindCES  ScoreKind = "CES"  // 1-7, low effort 5-7
)

// Response is one submitted answer as reporting counts it: an NPS answer by its class, a
// CSAT or CES answer by its score.
type Response struct {
	Day        time.Time
	Touchpoint string
	StoreID    string
	Kind       ScoreKind
	// Class is an NPS answer's class (0 for CSAT and CES).
	Class NpsClass
	Score int
}

// NewResponse checks an NPS answer. class is the class the survey assigned, or 0 when it
// assigned none; then the score decides.
func NewResponse(score int, class NpsClass, touchpoint, storeID string, submittedAt time.Time) (Response, error) {
	return NewScoredResponse(KindNPS, score, class, touchpoint, storeID, submittedAt)
}

// NewScoredResponse checks an answer of kind ("" is NPS, as responses from before the
// kinds were kept are). A CSAT or CES answer has no NPS class and a score on its scale.
func NewScoredResponse(kind ScoreKind, score int, class NpsClass, touchpoint, storeID string, submittedAt time.Time) (Response, error) {
	if submittedAt.IsZero() {
		return Response{}, fmt.Errorf("%w: response has no submitted_at", ErrInvalidEvent)
	}
	r := Response{Day: DayOf(submittedAt), Touchpoint: touchpoint, StoreID: storeID, Kind: kind, Score: score}
	switch kind {
	case "", KindNPS:
		r.Kind = KindNPS
		if class == 0 {
			var err error
			if class, err = ClassifyScore(score); err != nil {
				return Response{}, err
			}
		}
		if class < Detractor || class > Promoter {
			return Response{}, fmt.Errorf("%w: unknown NPS class %d", ErrInvalidEvent, class)
		}
		r.Class = class
		return r, nil
	case KindCSAT, KindCES:
		if class != 0 {
			return Response{}, fmt.Errorf("%w: a %s response has an NPS class", ErrInvalidEvent, kind)
		}
		if lo, hi := kind.Scale(); score < lo || score > hi {
			return Response{}, fmt.Errorf("%w: %s score %d is outside %d-%d", ErrInvalidEvent, kind, score, lo, hi)
		}
		return r, nil
	}
	return Response{}, fmt.Errorf("%w: unknown score kind %q", ErrInvalidEvent, kind)
}

// NpsCell is the counts of one (day, touchpoint, store) of the daily roll-up.
type NpsCell struct {
	Day        time.Time
	Touchpoint string
	StoreID    string
	NpsCounts
}

// TallyResponses folds a batch's NPS answers into roll-up increments, one per cell, in key
// order (so that concurrent writers lock rows in the same order).
func TallyResponses(responses []Response) []NpsCell {
	type key struct {
		day               time.Time
		touchpoint, store string
	}
	var set cellSet[key, NpsCell]
	for _, r := range responses {
		if r.Kind == KindCSAT || r.Kind == KindCES {
			continue // counted by TallyScores
		}
		c := set.at(key{r.Day, r.Touchpoint, r.StoreID}, func() NpsCell {
			return NpsCell{Day: r.Day, Touchpoint: r.Touchpoint, StoreID: r.StoreID}
		})
		c.NpsCounts = c.with(r.Class)
	}
	cells := set.cells
	slices.SortFunc(cells, func(a, b NpsCell) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Touchpoint, b.Touchpoint), cmp.Compare(a.StoreID, b.StoreID))
	})
	return cells
}

// Period is a range of whole UTC days, both included.
type Period struct {
	From time.Time
	To   time.Time
}

// DefaultPeriodDays is how far back a report reaches when no start is given.
const DefaultPeriodDays = 30

// ErrPeriodReversed is returned for a period that starts after it ends.
var ErrPeriodReversed = errors.New("from must not be after to")

// NewPeriod returns the days from..to; a nil to means today, a nil from means
// DefaultPeriodDays before to.
func NewPeriod(from, to *time.Time, now time.Time) (Period, error) {
	p := Period{To: DayOf(now)}
	if to != nil {
		p.To = DayOf(*to)
	}
	p.From = p.To.AddDate(0, 0, -DefaultPeriodDays)
	if from != nil {
		p.From = DayOf(*from)
	}
	if p.From.After(p.To) {
		return Period{}, ErrPeriodReversed
	}
	return p, nil
}

// Days lists the days of the period in order.
func (p Period) Days() []time.Time {
	var days []time.Time
	for d := p.From; !d.After(p.To); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	return days
}

// NpsGroup is the counts of one group of answers: a touchpoint, a store or a day.
type NpsGroup struct {
	Key string
	NpsCounts
}

// NpsReport is the NPS of a period, overall and by group.
type NpsReport struct {
	Period       Period
	Overall      NpsCounts
	ByTouchpoint []NpsGroup
	ByStore      []NpsGroup
	// ByDay lists the days that had answers, oldest first, keyed YYYY-MM-DD.
	ByDay []NpsGroup
}

// DailySeries returns one group per day of the report's period, oldest first, with
// zero counts for days without answers (what a chart needs).
func (r NpsReport) DailySeries() []NpsGroup {
	have := make(map[string]NpsCounts, len(r.ByDay))
	for _, g := range r.ByDay {
		have[g.Key] = g.NpsCounts
	}
	days := r.Period.Days()
	out := make([]NpsGroup, len(days))
	for i, d := range days {
		k := d.Format(DayLayout)
		out[i] = NpsGroup{Key: k, NpsCounts: have[k]}
	}
	return out
}

// SortGroupsByKey orders groups by key, which for days is chronological order.
func SortGroupsByKey(groups []NpsGroup) {
	slices.SortFunc(groups, func(a, b NpsGroup) int { return cmp.Compare(a.Key, b.Key) })
}
