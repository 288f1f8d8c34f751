package domain

import (
	"errors"
	"slices"
	"strings"
	"unicode"
)

// Topic is one entry of the taxonomy comments are tagged by: a key (the value a routing
// condition sees in `topics`), labels and keywords per language ("en", "de"). A keyword
// of several words matches as a sequence of words.
type Topic struct {
	Key      string
	LabelEN  string
	LabelDE  string
	Keywords map[string][]string
}

// MaxCaseTopics is the most topics a case keeps (the taxonomy's first, by key).
const MaxCaseTopics = 100

// TopicLanguages are the languages keywords are kept in.
var TopicLanguages = []string{"en", "de"}

// Stemmer reduces a word of a language ("en", "de") to its stem; a language it does not
// know leaves the word as it is.
type Stemmer interface {
	Stem(lang, word string) string
}

// negators are the words that, within negationWindow words before a keyword, cancel it.
var negators = map[string]map[string]bool{
	"en": {"not": true, "never": true, "no": true, "hardly": true, "n't": true, "nor": true, "without": true},
	"de": {"nicht": true, "kein": true, "keine": true, "keinen": true, "keinem": true, "keiner": true, "keines": true, "nie": true, "niemals": true, "kaum": true, "ohne": true, "keineswegs": true},
}

const negationWindow = 3

// Words splits text into lower-case words: letters and digits, with an apostrophe kept
// inside a word ("wasn't"). A contraction ending in "n't" is split into its stem and
// "n't" so that the negation is a word of its own.
func Words(text string) []string {
	fields := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	})
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		f = strings.Trim(strings.ReplaceAll(f, "’", "'"), "'")
		if f == "" {
			continue
		}
		if base, ok := strings.CutSuffix(f, "n't"); ok {
			if base != "" {
				out = append(out, base)
			}
			out = append(out, "n't")
			continue
		}
		out = append(out, f)
	}
	return out
}

// TagLanguages are the languages a comment of lang is matched in: lang itself when
// keywords are kept in it, otherwise every language kept.
func TagLanguages(lang string) []string {
	if slices.Contains(TopicLanguages, lang) {
		return []string{lang}
	}
	return TopicLanguages
}

// Tag returns the keys of the topics whose keywords occur in text, in the order of
// topics, each once. Words and keywords are compared by their stems; a keyword preceded
// within three words by a negator of the language ("not", "never", "n't", "nicht",
// "kein", "kaum", …) does not count. A language other than "en" and "de" ("" too) is
// matched in both.
func Tag(topics []Topic, text, lang string, st Stemmer) []string {
	var clauses [][]string
	for _, c := range Clauses(text) {
		if ws := Words(c); len(ws) > 0 {
			clauses = append(clauses, ws)
		}
	}
	if len(clauses) == 0 || len(topics) == 0 {
		return []string{}
	}
	out := []string{}
	for _, l := range TagLanguages(lang) {
		stemmed := make([][]string, len(clauses))
		for i, words := range clauses {
			stemmed[i] = make([]string, len(words))
			for j, w := range words {
				stemmed[i][j] = st.Stem(l, w)
			}
		}
		for _, t := range topics {
			if slices.Contains(out, t.Key) {
				continue
			}
			if topicIn(t.Keywords[l], l, st, clauses, stemmed) {
				out = append(out, t.Key)
			}
		}
	}
	// Keep the taxonomy's order whatever language matched first.
	order := make(map[string]int, len(topics))
	for i, t := range topics {
		order[t.Key] = i
	}
	slices.SortFunc(out, func(a, b string) int { return order[a] - order[b] })
	return out
}

// Clauses splits text at punctuation that ends a clause (". , ; : ! ?" and line
// breaks): a negation does not reach past it, nor does a keyword of several words.
func Clauses(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return strings.ContainsRune(".,;:!?\n\r()[]", r)
	})
}

func topicIn(keywords []string, lang string, st Stemmer, clauses, stemmed [][]string) bool {
	for _, kw := range keywords {
		ks := keywordStems(kw, lang, st)
		for i := range clauses {
			if matches(stemmed[i], clauses[i], ks, negators[lang]) {
				return true
			}
		}
	}
	return false
}

func keywordStems(kw, lang string, st Stemmer) []string {
	ws := Words(kw)
	for i, w := range ws {
		ws[i] = st.Stem(lang, w)
	}
	return ws
}

// matches reports whether kw occurs in stems at a place not negated by a word of neg.
func matches(stems, words, kw []string, neg map[string]bool) bool {
	if len(kw) == 0 {
		return false
	}
outer:
	for i := 0; i+len(kw) <= len(stems); i++ {
		for j, k := range kw {
			if stems[i+j] != k {
				continue outer
			}
		}
		negated := false
		for j := max(0, i-negationWindow); j < i; j++ {
			if neg[words[j]] {
				negated = true
				break
			}
		}
		if !negated {
			return true
		}
	}
	return false
}

// ValidateTopic checks a topic of the taxonomy: a key of lower-case letters, digits,
// '_', '-' or ' ' (at most 64), and at least one keyword.
func ValidateTopic(t Topic) error {
	if t.Key == "" || len(t.Key) > 64 || strings.TrimSpace(t.Key) != t.Key {
		return &FieldError{Field: "key", Reason: "must be 1 to 64 characters without surrounding spaces"}
	}
	for _, r := range t.Key {
		if !(unicode.IsLower(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == ' ') {
			return &FieldError{Field: "key", Reason: "must be lower-case letters, digits, '_', '-' or ' '"}
		}
	}
	n := 0
	for lang, kws := range t.Keywords {
		if !slices.Contains(TopicLanguages, lang) {
			return &FieldError{Field: "keywords", Reason: "language must be en or de"}
		}
		for _, kw := range kws {
			if len(Words(kw)) == 0 {
				return &FieldError{Field: "keywords", Reason: "a keyword must have a word"}
			}
			n++
		}
	}
	if n == 0 {
		return &FieldError{Field: "keywords", Reason: "at least one keyword is needed"}
	}
	return nil
}

// ErrTopicNotFound: no topic has the key.
var ErrTopicNotFound = errors.New("topic not found")
