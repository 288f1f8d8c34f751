package domain_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/treue/treue/services/survey/internal/domain"
)

// FuzzFinal: whatever a member's browser or a client sends, the answers recorded are
// answers to visible questions, valid for them, with storable text, and have a score.
func FuzzFinal(f *testing.F) {
	f.Add(2, "topic", "staff", "more", "Zu lange gewartet", "staff_detail", "rude,slow")
	f.Add(5, "ces", "", "more", "\x00\xff", "", "")
	f.Add(-1, "csat", "x", "weather", strings.Repeat("ü", 4001), "topic", "wait,price")
	v := richVersion()
	f.Fuzz(func(t *testing.T, score int, q1, c1, q2, text, q3, c3 string) {
		a := domain.Answers{
			"csat": {Score: &score},
			q1:     {ChoiceIDs: strings.Split(c1, ",")},
			q2:     {Text: text},
			q3:     {ChoiceIDs: strings.Split(c3, ",")},
		}
		final, err := v.Final(a)
		if err != nil {
			if v.Check(a) == nil {
				t.Fatal("Check and Final disagree")
			}
			return
		}
		visible := map[string]bool{}
		for _, q := range v.Visible(final) {
			visible[q.ID] = true
		}
		for id, x := range final {
			if !visible[id] {
				t.Errorf("answer to hidden question %q kept", id)
			}
			if !utf8.ValidString(x.Text) || strings.ContainsRune(x.Text, 0) || utf8.RuneCountInString(x.Text) > domain.MaxCommentLen {
				t.Errorf("text of %q not storable: %q", id, x.Text)
			}
		}
		for _, q := range v.Visible(final) {
			if _, ok := final[q.ID]; q.Required && !ok {
				t.Errorf("required visible question %q unanswered", q.ID)
			}
		}
		// Dropping hidden answers changes nothing that is visible.
		if got, want := ids(v.Visible(final)), ids(v.Visible(a)); got != want {
			t.Errorf("visible after Final %s, before %s", got, want)
		}
		s, err := domain.ScoreOf(v, final)
		if err != nil || s.Kind != domain.ScoreCSAT || s.Value != score {
			t.Errorf("ScoreOf = %+v, %v", s, err)
		}
	})
}
