package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestTopicMentionsAndTally(t *testing.T) {
	d1 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	mention := func(kind ScoreKind, score int, store string, day time.Time, topics ...string) TopicMention {
		t.Helper()
		r, err := NewScoredResponse(kind, score, 0, "PURCHASE", store, day.Add(9*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewTopicMention(r, topics)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	r, _ := NewResponse(5, 0, "", "", d1)
	if _, err := NewTopicMention(r, nil); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("no topic: %v", err)
	}
	if _, err := NewTopicMention(r, []string{"queue", ""}); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("an empty topic: %v", err)
	}
	if m := mention(KindNPS, 3, "s1", d1, "queue", "staff", "queue"); !reflect.DeepEqual(m.Topics, []string{"queue", "staff"}) {
		t.Errorf("a topic named twice: %q", m.Topics)
	}

	cells := TallyTopics([]TopicMention{
		mention(KindNPS, 2, "s1", d2, "staff"),
		mention(KindNPS, 3, "s1", d1, "queue", "staff"),
		mention(KindNPS, 10, "s1", d1, "queue"),
		mention(KindNPS, 8, "s1", d1, "queue"),
		mention(KindCSAT, 4, "s1", d1, "queue"),
		mention(KindCES, 2, "s1", d1, "queue"),
		mention(KindNPS, 0, "", d1, "queue"),
	})
	want := []TopicCell{
		{Day: d1, StoreID: "", Topic: "queue", TopicCounts: TopicCounts{Mentions: 1, NpsCounts: NpsCounts{Detractors: 1}}},
		{Day: d1, StoreID: "s1", Topic: "queue", TopicCounts: TopicCounts{
			Mentions: 5, NpsCounts: NpsCounts{Promoters: 1, Passives: 1, Detractors: 1}, NpsScoreSum: 21,
			CSAT: ScoreCounts{Responses: 1, ScoreSum: 4, Favourable: 1}, CES: ScoreCounts{Responses: 1, ScoreSum: 2},
		}},
		{Day: d1, StoreID: "s1", Topic: "staff", TopicCounts: TopicCounts{Mentions: 1, NpsCounts: NpsCounts{Detractors: 1}, NpsScoreSum: 3}},
		{Day: d2, StoreID: "s1", Topic: "staff", TopicCounts: TopicCounts{Mentions: 1, NpsCounts: NpsCounts{Detractors: 1}, NpsScoreSum: 2}},
	}
	if !reflect.DeepEqual(cells, want) {
		t.Errorf("cells\n%+v\nwant\n%+v", cells, want)
	}
	queue := cells[1].TopicCounts
	// CSAT and CES answers neither dilute the detractor share nor the NPS mean.
	if s := queue.DetractorShare(); s != 1.0/3 {
		t.Errorf("detractor share %v, want 1/3", s)
	}
	if a := queue.AverageNps(); a != 7 {
		t.Errorf("average NPS %v, want 7", a)
	}
	if c := (TopicCounts{Mentions: 2, CSAT: ScoreCounts{Responses: 2}}); c.DetractorShare() != 0 || c.AverageNps() != 0 {
		t.Errorf("no NPS answer: share %v, average %v; want 0, 0", c.DetractorShare(), c.AverageNps())
	}
	if sum := cells[2].Plus(cells[3].TopicCounts); sum.Mentions != 2 || sum.Detractors != 2 || sum.NpsScoreSum != 5 {
		t.Errorf("plus %+v", sum)
	}
}

func TestPeriodBefore(t *testing.T) {
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tt := range []struct{ p, want Period }{
		{Period{day(3, 10), day(3, 10)}, Period{day(3, 9), day(3, 9)}},
		{Period{day(3, 8), day(3, 14)}, Period{day(3, 1), day(3, 7)}},
		// Across a month end (and the clocks changing, which UTC days do not see).
		{Period{day(3, 1), day(3, 31)}, Period{day(1, 29), day(2, 28)}},
	} {
		if got := tt.p.Before(); got != tt.want {
			t.Errorf("%v before = %v, want %v", tt.p, got, tt.want)
		}
		if len(tt.p.Before().Days()) != len(tt.p.Days()) {
			t.Errorf("%v: the period before is not as long", tt.p)
		}
	}
}

func TestTopicReport(t *testing.T) {
	p := Period{From: time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)}
	tot := func(topic string, now, before int64) TopicTotals {
		return TopicTotals{Topic: topic, Current: TopicCounts{Mentions: now}, Previous: TopicCounts{Mentions: before}}
	}
	totals := []TopicTotals{tot("staff", 3, 2), tot("price", 0, 5), tot("queue", 6, 0), tot("app", 3, 6), tot("parking", 1, 1)}
	r := NewTopicReport(p, totals, 0)
	var order []string
	for _, t := range r.Topics {
		order = append(order, t.Topic)
	}
	// By mentions, ties by topic; price, mentioned only before, is left out.
	if !reflect.DeepEqual(order, []string{"queue", "app", "staff", "parking"}) {
		t.Errorf("order %q", order)
	}
	if r.Previous != p.Before() || r.Period != p {
		t.Errorf("periods %+v", r)
	}
	for _, tt := range []struct {
		t    TopicTotals
		want float64
	}{{tot("staff", 3, 2), 0.5}, {tot("app", 3, 6), -0.5}, {tot("parking", 1, 1), 0}, {tot("queue", 6, 0), 0}} {
		if got := tt.t.MentionsChange(); got != tt.want {
			t.Errorf("%s change %v, want %v", tt.t.Topic, got, tt.want)
		}
	}
	if top := NewTopicReport(p, totals, 2).Topics; len(top) != 2 || top[0].Topic != "queue" || top[1].Topic != "app" {
		t.Errorf("limit 2: %+v", top)
	}
	if all := NewTopicReport(p, totals, 10).Topics; len(all) != 4 {
		t.Errorf("limit above the topics: %+v", all)
	}
}
