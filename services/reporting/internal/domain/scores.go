package domain

import (
	"cmp"
	"slices"
	"time"
)

// Scale is the lowest and highest score of a CSAT or CES answer (NPS: 0-10).
func (k ScoreKind) Scale() (lo, hi int) {
	switch k {
	case KindCSAT:
		return 1, 5
	case KindCES:
		return 1, 7
	}
	return 0, 10
}

// Favourable reports whether a CSAT answer is satisfied (4-5) or a CES answer low effort
// (5-7, "easy").
func (k ScoreKind) Favourable(score int) bool {
	switch k {
	case KindCSAT:
		return score >= 4
	case KindCES:
		return score >= 5
	}
	return false
}

// ScoreCounts sums CSAT or CES answers: how many, their scores, and how many were
// favourable (satisfied for CSAT, low effort for CES).
type ScoreCounts struct {
	Responses  int64
	ScoreSum   int64
	Favourable int64
}

// Average is the mean score; 0 with no answers.
func (c ScoreCounts) Average() float64 {
	if c.Responses == 0 {
		return 0
	}
	return float64(c.ScoreSum) / float64(c.Responses)
}

// FavourableShare is the favourable answers over all, from 0 to 1 (CSAT's satisfied
// share, CES's low-effort share); 0 with no answers.
func (c ScoreCounts) FavourableShare() float64 {
	if c.Responses == 0 {
		return 0
	}
	return float64(c.Favourable) / float64(c.Responses)
}

// Plus returns the sum of two counts.
func (c ScoreCounts) Plus(o ScoreCounts) ScoreCounts {
	return ScoreCounts{Responses: c.Responses + o.Responses, ScoreSum: c.ScoreSum + o.ScoreSum, Favourable: c.Favourable + o.Favourable}
}

// ScoreCell is the counts of one (day, touchpoint, store, kind) of the daily CSAT and CES
// roll-up.
type ScoreCell struct {
	Day        time.Time
	Touchpoint string
	StoreID    string
	Kind       ScoreKind
	ScoreCounts
}

// TallyScores folds a batch's CSAT and CES answers into roll-up increments, one per
// cell, in key order (NPS answers are TallyResponses').
func TallyScores(responses []Response) []ScoreCell {
	type key struct {
		day               time.Time
		touchpoint, store string
		kind              ScoreKind
	}
	var set cellSet[key, ScoreCell]
	for _, r := range responses {
		if r.Kind != KindCSAT && r.Kind != KindCES {
			continue
		}
		c := set.at(key{r.Day, r.Touchpoint, r.StoreID, r.Kind}, func() ScoreCell {
			return ScoreCell{Day: r.Day, Touchpoint: r.Touchpoint, StoreID: r.StoreID, Kind: r.Kind}
		})
		c.ScoreCounts = c.Plus(scoreOf(r))
	}
	cells := set.cells
	slices.SortFunc(cells, func(a, b ScoreCell) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Touchpoint, b.Touchpoint), cmp.Compare(a.StoreID, b.StoreID),
			cmp.Compare(a.Kind, b.Kind))
	})
	return cells
}

// scoreOf is a CSAT or CES answer's counts.
func scoreOf(r Response) ScoreCounts {
	s := ScoreCounts{Responses: 1, ScoreSum: int64(r.Score)}
	if r.Kind.Favourable(r.Score) {
		s.Favourable = 1
	}
	return s
}

// ScoreGroup is the counts of one group of answers: a touchpoint, a store or a day.
type ScoreGroup struct {
	Key string
	ScoreCounts
}

// ScoreReport is the CSAT or CES figures of a period, overall and by group.
type ScoreReport struct {
	Kind         ScoreKind
	Period       Period
	Overall      ScoreCounts
	ByTouchpoint []ScoreGroup
	ByStore      []ScoreGroup
	// ByDay lists the days that had answers, oldest first, keyed YYYY-MM-DD.
	ByDay []ScoreGroup
}

// SortScoreGroups orders groups by key, which for days is chronological order.
func SortScoreGroups(groups []ScoreGroup) {
	slices.SortFunc(groups, func(a, b ScoreGroup) int { return cmp.Compare(a.Key, b.Key) })
}
