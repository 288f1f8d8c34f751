package topics_test

import (
	"slices"
	"testing"

	"github.com/treue/treue/services/feedback/internal/adapters/topics"
	"github.com/treue/treue/services/feedback/internal/domain"
)

var taxonomy = []domain.Topic{
	{Key: "unfriendly", Keywords: map[string][]string{
		"en": {"unfriendly", "rude", "impolite"}, "de": {"unfreundlich", "unhöflich"}}},
	{Key: "queue", Keywords: map[string][]string{
		"en": {"queue", "wait", "line"}, "de": {"warteschlange", "warten", "schlange"}}},
	{Key: "product quality", Keywords: map[string][]string{
		"en": {"poor quality", "broken"}, "de": {"schlechte qualität", "kaputt"}}},
}

func TestTag(t *testing.T) {
	cases := []struct {
		text, lang string
		want       []string
	}{
		{"Die Verkäuferin war sehr unfreundlich", "de", []string{"unfriendly"}},
		{"Die Verkäuferin war nicht unfreundlich", "de", []string{}},
		{"Sie war keineswegs kaum unhöflich", "de", []string{}},
		{"Lange Warteschlangen an der Kasse", "de", []string{"queue"}},
		{"Wir mussten ewig warten, und der Kassierer war unhöflich!", "de", []string{"unfriendly", "queue"}},
		{"Ware kaputt", "de", []string{"product quality"}},
		{"Sehr schlechte Qualität", "de", []string{"product quality"}},
		{"Schlechte Erfahrung, Qualität gut", "de", []string{}},
		{"We waited for ages", "en", []string{"queue"}},
		{"The queues were long and the cashier rude", "en", []string{"unfriendly", "queue"}},
		{"not rude at all", "en", []string{}},
		{"the staff was never rude", "en", []string{}},
		{"She wasn't rude", "en", []string{}},
		{"No queue, but they were rude to me", "en", []string{"unfriendly"}},
		{"No queue today", "en", []string{}},
		{"Poor quality shoes", "en", []string{"product quality"}},
		{"quality was poor", "en", []string{}},
		{"Very rude", "fr", []string{"unfriendly"}},
		{"sehr unfreundlich", "", []string{"unfriendly"}},
		{"", "en", []string{}},
		{"Nicht teuer, aber unfreundlich", "de", []string{"unfriendly"}},
		{"Not bad. The cashier was rude", "en", []string{"unfriendly"}},
		{"Poor. Quality shoes", "en", []string{}},
	}
	for _, c := range cases {
		got := domain.Tag(taxonomy, c.text, c.lang, topics.Snowball{})
		if !slices.Equal(got, c.want) {
			t.Errorf("Tag(%q, %q) = %q, want %q", c.text, c.lang, got, c.want)
		}
	}
}

func TestSnowballStems(t *testing.T) {
	s := topics.Snowball{}
	for _, c := range [][3]string{
		{"de", "Warteschlangen", "warteschlange"},
		{"de", "unfreundlichen", "unfreundlich"},
		{"en", "waited", "wait"},
		{"en", "queues", "queue"},
	} {
		if a, b := s.Stem(c[0], lowerOf(c[1])), s.Stem(c[0], c[2]); a != b {
			t.Errorf("%s: stem(%q)=%q, stem(%q)=%q", c[0], c[1], a, c[2], b)
		}
	}
	if got := s.Stem("fr", "bonjour"); got != "bonjour" {
		t.Errorf("unknown language: %q", got)
	}
}

func lowerOf(s string) string { return domain.Words(s)[0] }
