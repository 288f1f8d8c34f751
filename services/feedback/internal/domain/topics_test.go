package domain_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// suffixStemmer is a toy stemmer: it drops a final "s", "ed" or "en".
type suffixStemmer struct{}

func (suffixStemmer) Stem(_, w string) string {
	for _, suf := range []string{"ed", "en", "s"} {
		if s, ok := strings.CutSuffix(w, suf); ok && len(s) > 2 {
			return s
		}
	}
	return w
}

func TestTagNegationAndSequences(t *testing.T) {
	tax := []domain.Topic{
		{Key: "unfriendly", Keywords: map[string][]string{"en": {"rude"}, "de": {"unfreundlich"}}},
		{Key: "quality", Keywords: map[string][]string{"en": {"poor quality"}}},
		{Key: "queue", Keywords: map[string][]string{"en": {"wait"}}},
	}
	for _, c := range []struct {
		text, lang string
		want       []string
	}{
		{"rude", "en", []string{"unfriendly"}},
		{"not rude", "en", []string{}},
		{"not at all very rude", "en", []string{"unfriendly"}}, // four words back
		{"never so very rude", "en", []string{}},               // three words back
		{"Wasn't RUDE", "en", []string{}},
		{"wasn’t rude", "en", []string{}},
		{"fine, not bad; rude", "en", []string{"unfriendly"}},
		{"poor qualitys and we waited", "en", []string{"quality", "queue"}},
		{"poor, quality", "en", []string{}},
		{"quality poor", "en", []string{}},
		{"kein bisschen unfreundlich", "de", []string{}},
		{"sehr unfreundlich", "de", []string{"unfriendly"}},
		{"rude", "de", []string{}},
		{"rude und unfreundlich", "it", []string{"unfriendly"}},
		{"waited, rude", "", []string{"unfriendly", "queue"}},
	} {
		if got := domain.Tag(tax, c.text, c.lang, suffixStemmer{}); !slices.Equal(got, c.want) {
			t.Errorf("Tag(%q, %q) = %q, want %q", c.text, c.lang, got, c.want)
		}
	}
}

func TestValidateTopic(t *testing.T) {
	ok := domain.Topic{Key: "product quality", Keywords: map[string][]string{"de": {"kaputt"}}}
	if err := domain.ValidateTopic(ok); err != nil {
		t.Errorf("valid topic: %v", err)
	}
	for _, tc := range []struct {
		t     domain.Topic
		field string
	}{
		{domain.Topic{Key: "", Keywords: ok.Keywords}, "key"},
		{domain.Topic{Key: "Upper", Keywords: ok.Keywords}, "key"},
		{domain.Topic{Key: " x", Keywords: ok.Keywords}, "key"},
		{domain.Topic{Key: "x"}, "keywords"},
		{domain.Topic{Key: "x", Keywords: map[string][]string{"fr": {"cher"}}}, "keywords"},
		{domain.Topic{Key: "x", Keywords: map[string][]string{"en": {"--"}}}, "keywords"},
	} {
		var fe *domain.FieldError
		err := domain.ValidateTopic(tc.t)
		if fe, _ = err.(*domain.FieldError); fe == nil || fe.Field != tc.field {
			t.Errorf("ValidateTopic(%+v) = %v, want field %s", tc.t, err, tc.field)
		}
	}
}
