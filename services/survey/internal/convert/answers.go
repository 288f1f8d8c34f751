package convert

import (
	"sort"

	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/domain"
)

// ToProtoAnswers lists answers by question id, in the order of the ids (stable).
func ToProtoAnswers(a domain.Answers) []*surveyv1.Answer {
	if len(a) == 0 {
		return nil
	}
	ids := make([]string, 0, len(a))
	for id := range a {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]*surveyv1.Answer, len(ids))
	for i, id := range ids {
		x := a[id]
		p := &surveyv1.Answer{QuestionId: id, ChoiceIds: x.ChoiceIDs, Text: x.Text}
		if x.Score != nil {
			n := int32(*x.Score)
			p.Score = &n
		}
		out[i] = p
	}
	return out
}

// FromProtoAnswers reads answers of a request; ok is false when a question is answered
// twice (the index of the second is dup).
func FromProtoAnswers(list []*surveyv1.Answer) (a domain.Answers, dup int, ok bool) {
	a = make(domain.Answers, len(list))
	for i, p := range list {
		if _, seen := a[p.GetQuestionId()]; seen {
			return nil, i, false
		}
		x := domain.Answer{QuestionID: p.GetQuestionId(), ChoiceIDs: p.GetChoiceIds(), Text: p.GetText()}
		if p.Score != nil {
			n := int(p.GetScore())
			x.Score = &n
		}
		a[x.QuestionID] = x
	}
	return a, 0, true
}
