package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// TagText returns the topics a text would be tagged with, storing nothing.
type TagText struct {
	store   Store
	stemmer domain.Stemmer
}

// Handle tags text in the language of locale ("de", "en", "de-AT"; others: both).
func (h TagText) Handle(ctx context.Context, text, locale string) ([]string, error) {
	topics, err := ListTopics{h.store}.Handle(ctx)
	if err != nil {
		return nil, err
	}
	return domain.Tag(topics, text, domain.LanguageOf(locale), h.stemmer), nil
}
