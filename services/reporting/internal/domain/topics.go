package domain

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// TopicMention is one response whose comment named topics (feedback's taxonomy): the
// answer as reporting counts it, and the topics, each once.
type TopicMention struct {
	Response
	Topics []string
}

// NewTopicMention checks the topics of an answer: at least one, none empty; a topic named
// twice counts once.
func NewTopicMention(r Response, topics []string) (TopicMention, error) {
	if len(topics) == 0 {
		return TopicMention{}, fmt.Errorf("%w: a tagged response has no topic", ErrInvalidEvent)
	}
	seen := make(map[string]bool, len(topics))
	m := TopicMention{Response: r, Topics: make([]string, 0, len(topics))}
	for _, t := range topics {
		if t == "" {
			return TopicMention{}, fmt.Errorf("%w: an empty topic", ErrInvalidEvent)
		}
		if !seen[t] {
			seen[t] = true
			m.Topics = append(m.Topics, t)
		}
	}
	return m, nil
}

// TopicCounts sums the answers whose comment named a topic: all of them, the NPS answers
// by class (with their scores' sum), the CSAT and the CES answers.
type TopicCounts struct {
	Mentions int64
	NpsCounts
	NpsScoreSum int64
	CSAT, CES   ScoreCounts
}

// Plus returns the sum of two counts.
func (c TopicCounts) Plus(o TopicCounts) TopicCounts {
	return TopicCounts{
		Mentions: c.Mentions + o.Mentions, NpsCounts: c.NpsCounts.Plus(o.NpsCounts), NpsScoreSum: c.NpsScoreSum + o.NpsScoreSum,
		CSAT: c.CSAT.Plus(o.CSAT), CES: c.CES.Plus(o.CES),
	}
}

// DetractorShare is the detractors over the NPS answers, from 0 to 1; 0 with none. CSAT
// and CES answers have no detractors and do not dilute it.
func (c TopicCounts) DetractorShare() float64 {
	n := c.NpsCounts.Responses()
	if n == 0 {
		return 0
	}
	return float64(c.Detractors) / float64(n)
}

// AverageNps is the mean 0-10 score of the NPS answers; 0 with none. Scores of different
// scales are not averaged together: CSAT's and CES' means are their ScoreCounts'.
func (c TopicCounts) AverageNps() float64 {
	n := c.NpsCounts.Responses()
	if n == 0 {
		return 0
	}
	return float64(c.NpsScoreSum) / float64(n)
}

func (c TopicCounts) with(r Response) TopicCounts {
	c.Mentions++
	switch r.Kind {
	case KindCSAT:
		c.CSAT = c.CSAT.Plus(scoreOf(r))
	case KindCES:
		c.CES = c.CES.Plus(scoreOf(r))
	default:
		c.NpsCounts = c.NpsCounts.with(r.Class)
		c.NpsScoreSum += int64(r.Score)
	}
	return c
}

// TopicCell is the counts of one (day, store, topic) of the daily topic roll-up.
type TopicCell struct {
	Day     time.Time
	StoreID string
	Topic   string
	TopicCounts
}

// TallyTopics folds a batch's tagged answers into roll-up increments, one per cell, in
// key order (so that concurrent writers lock rows in the same order). An answer counts
// once for each of its topics.
func TallyTopics(mentions []TopicMention) []TopicCell {
	type key struct {
		day          time.Time
		store, topic string
	}
	var set cellSet[key, TopicCell]
	for _, m := range mentions {
		for _, t := range m.Topics {
			c := set.at(key{m.Day, m.StoreID, t}, func() TopicCell { return TopicCell{Day: m.Day, StoreID: m.StoreID, Topic: t} })
			c.TopicCounts = c.with(m.Response)
		}
	}
	cells := set.cells
	slices.SortFunc(cells, func(a, b TopicCell) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.StoreID, b.StoreID), cmp.Compare(a.Topic, b.Topic))
	})
	return cells
}

// Before is the period of equal length that ends the day before p starts: what a trend
// compares p with.
func (p Period) Before() Period {
	days := len(p.Days())
	return Period{From: p.From.AddDate(0, 0, -days), To: p.From.AddDate(0, 0, -1)}
}

// TopicTotals are one topic's counts over a period and over the period before it.
type TopicTotals struct {
	Topic             string
	Current, Previous TopicCounts
}

// MentionsChange is the relative change of the mentions against the period before:
// (current - previous) / previous, 0.5 for half as many again; 0 when the topic had no
// mentions before (new in the period: no ratio to give).
func (t TopicTotals) MentionsChange() float64 {
	if t.Previous.Mentions == 0 {
		return 0
	}
	return float64(t.Current.Mentions-t.Previous.Mentions) / float64(t.Previous.Mentions)
}

// TopicReport is what customers talked about in a period, the most mentioned topic first.
type TopicReport struct {
	Period   Period
	Previous Period
	Topics   []TopicTotals
}

// NewTopicReport ranks the topics mentioned in p by mentions, most first (ties by topic),
// keeping at most limit (0: all). Topics mentioned only in the period before are left
// out: the report is of what customers talk about now.
func NewTopicReport(p Period, totals []TopicTotals, limit int) TopicReport {
	r := TopicReport{Period: p, Previous: p.Before()}
	for _, t := range totals {
		if t.Current.Mentions > 0 {
			r.Topics = append(r.Topics, t)
		}
	}
	slices.SortFunc(r.Topics, func(a, b TopicTotals) int {
		return cmp.Or(cmp.Compare(b.Current.Mentions, a.Current.Mentions), cmp.Compare(a.Topic, b.Topic))
	})
	if limit > 0 && len(r.Topics) > limit {
		r.Topics = r.Topics[:limit]
	}
	return r
}
