package convert

import (
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// Topic is the domain topic of a request's.
func Topic(p *feedbackv1.Topic) domain.Topic {
	return domain.Topic{
		Key: p.GetKey(), LabelEN: p.GetLabelEn(), LabelDE: p.GetLabelDe(),
		Keywords: map[string][]string{"en": p.GetKeywordsEn(), "de": p.GetKeywordsDe()},
	}
}

// TopicProto is the proto of a topic.
func TopicProto(t domain.Topic) *feedbackv1.Topic {
	return &feedbackv1.Topic{
		Key: t.Key, LabelEn: t.LabelEN, LabelDe: t.LabelDE,
		KeywordsEn: t.Keywords["en"], KeywordsDe: t.Keywords["de"],
	}
}

// TopicsProto is the proto of topics.
func TopicsProto(ts []domain.Topic) []*feedbackv1.Topic {
	out := make([]*feedbackv1.Topic, len(ts))
	for i, t := range ts {
		out[i] = TopicProto(t)
	}
	return out
}
