// Package topics stems the words of comments and keywords with the Snowball stemmers
// (github.com/blevesearch/snowballstem) for the topic tagging of domain.Tag.
package topics

import (
	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	"github.com/blevesearch/snowballstem/german"
)

// Snowball is a domain.Stemmer with the Snowball stemmers of English and German; a word
// of another language is kept as it is.
type Snowball struct{}

var stemmers = map[string]func(*snowballstem.Env) bool{
	"en": english.Stem,
	"de": german.Stem,
}

// Stem returns the stem of word (lower case) in lang ("en", "de").
func (Snowball) Stem(lang, word string) string {
	stem, ok := stemmers[lang]
	if !ok || word == "" {
		return word
	}
	env := snowballstem.NewEnv(word)
	stem(env)
	if s := env.Current(); s != "" {
		return s
	}
	return word
}
