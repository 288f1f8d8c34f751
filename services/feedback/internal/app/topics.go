package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// TopicTx is what topic tagging needs of a transaction.
type TopicTx interface {
	// Topics returns the taxonomy by key.
	Topics(ctx context.Context) ([]domain.Topic, error)
	// SetTopic creates or replaces the topic with t's key.
	SetTopic(ctx context.Context, t domain.Topic) (domain.Topic, error)
	// DeleteTopic returns domain.ErrTopicNotFound when no topic has key.
	DeleteTopic(ctx context.Context, key string) error
	// SetCaseTopics stores the topics of cases by case id.
	SetCaseTopics(ctx context.Context, topics map[string][]string) error
}

// TopicCommands manage the taxonomy.
type TopicCommands struct {
	SetTopic    SetTopic
	DeleteTopic DeleteTopic
}

// TopicQueries read it.
type TopicQueries struct {
	ListTopics ListTopics
	TagText    TagText
}

func newTopics(d Deps) (TopicCommands, TopicQueries) {
	return TopicCommands{SetTopic{d.Store}, DeleteTopic{d.Store}},
		TopicQueries{ListTopics{d.Store}, TagText{d.Store, d.Stemmer}}
}

// tagResponses fills the facts' topics from the responses' comments in their language.
func tagResponses(topics []domain.Topic, st domain.Stemmer, responses []domain.Response, facts []domain.RoutingFacts) {
	for i, r := range responses {
		if st == nil || r.Comment == "" {
			continue
		}
		t := domain.Tag(topics, r.Comment, facts[i].Language, st)
		facts[i].Topics = t[:min(len(t), domain.MaxCaseTopics)]
	}
}

// taggedEvents announces the topics of the responses routed for the first time (a
// response delivered again under another id is not counted twice), each with the case
// it opened, if any.
func taggedEvents(batch []domain.Response, facts []domain.RoutingFacts, firstTime []string, opened []domain.Case) []domain.Event {
	first := make(map[string]bool, len(firstTime))
	for _, id := range firstTime {
		first[id] = true
	}
	caseOf := make(map[string]string, len(opened))
	for _, c := range opened {
		caseOf[c.ResponseID] = c.ID
	}
	var out []domain.Event
	for i, r := range batch {
		if len(facts[i].Topics) > 0 && first[r.ResponseID] {
			out = append(out, domain.ResponseTagged{Response: r, CaseID: caseOf[r.ResponseID], Topics: facts[i].Topics})
		}
	}
	return out
}

// keepTopics stores the topics of the cases stored and returns them with their topics.
func keepTopics(ctx context.Context, tx Tx, cases, stored []domain.Case) ([]domain.Case, error) {
	byID := make(map[string][]string, len(cases))
	for _, c := range cases {
		if len(c.Topics) > 0 {
			byID[c.ID] = c.Topics
		}
	}
	keep := map[string][]string{}
	for i := range stored {
		if t, ok := byID[stored[i].ID]; ok {
			stored[i].Topics = t
			keep[stored[i].ID] = t
		}
	}
	if len(keep) == 0 {
		return stored, nil
	}
	return stored, tx.SetCaseTopics(ctx, keep)
}
