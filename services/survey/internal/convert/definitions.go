package convert

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/enum"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

// QuestionKinds pairs the kinds of question.
var QuestionKinds = enum.New(map[domain.QuestionKind]surveyv1.QuestionKind{
	domain.QuestionNPS:            surveyv1.QuestionKind_QUESTION_KIND_NPS,
	domain.QuestionCSAT:           surveyv1.QuestionKind_QUESTION_KIND_CSAT,
	domain.QuestionCES:            surveyv1.QuestionKind_QUESTION_KIND_CES,
	domain.QuestionSingleChoice:   surveyv1.QuestionKind_QUESTION_KIND_SINGLE_CHOICE,
	domain.QuestionMultipleChoice: surveyv1.QuestionKind_QUESTION_KIND_MULTIPLE_CHOICE,
	domain.QuestionOpenText:       surveyv1.QuestionKind_QUESTION_KIND_OPEN_TEXT,
})

// VersionStatuses pairs the statuses of a version.
var VersionStatuses = enum.New(map[string]surveyv1.VersionStatus{
	domain.VersionDraft:      surveyv1.VersionStatus_VERSION_STATUS_DRAFT,
	domain.VersionPublished:  surveyv1.VersionStatus_VERSION_STATUS_PUBLISHED,
	domain.VersionSuperseded: surveyv1.VersionStatus_VERSION_STATUS_SUPERSEDED,
})

func intPtr(p *int32) *int {
	if p == nil {
		return nil
	}
	n := int(*p)
	return &n
}

func int32Ptr(p *int) *int32 {
	if p == nil {
		return nil
	}
	n := int32(*p)
	return &n
}

// FromProtoSpec reads a version's spec from a request (already validated by its
// annotations; the domain checks the rest).
func FromProtoSpec(p *surveyv1.SurveyVersionSpec) app.SurveySpec {
	s := app.SurveySpec{
		DefaultLocale: p.GetDefaultLocale(), ScoreQuestionID: p.GetScoreQuestionId(),
		Texts:     make(map[string]domain.SurveyText, len(p.GetTexts())),
		Questions: make([]domain.Question, len(p.GetQuestions())),
	}
	for lang, t := range p.GetTexts() {
		s.Texts[lang] = domain.SurveyText{Title: t.GetTitle(), Intro: t.GetIntro(), Thanks: t.GetThanks(), EmailSubject: t.GetEmailSubject()}
	}
	for i, q := range p.GetQuestions() {
		kind, _ := QuestionKinds.Domain(q.GetKind())
		dq := domain.Question{ID: q.GetId(), Kind: kind, Required: q.GetRequired(),
			Texts: make(map[string]domain.QuestionText, len(q.GetTexts()))}
		for lang, t := range q.GetTexts() {
			dq.Texts[lang] = domain.QuestionText{Prompt: t.GetPrompt(), LowLabel: t.GetLowLabel(), HighLabel: t.GetHighLabel()}
		}
		for _, c := range q.GetChoices() {
			dq.Choices = append(dq.Choices, domain.Choice{ID: c.GetId(), Labels: c.GetLabels()})
		}
		if c := q.GetShowIf(); c != nil {
			dq.ShowIf = &domain.ShowIf{QuestionID: c.GetQuestionId(), MinScore: intPtr(c.MinScore), MaxScore: intPtr(c.MaxScore), AnyOf: c.GetAnyOf()}
		}
		s.Questions[i] = dq
	}
	return s
}

// ToProtoSpec is a version's spec as the API returns it.
func ToProtoSpec(v domain.SurveyVersion) *surveyv1.SurveyVersionSpec {
	p := &surveyv1.SurveyVersionSpec{
		DefaultLocale: v.DefaultLocale, ScoreQuestionId: v.ScoreQuestionID,
		Texts:     make(map[string]*surveyv1.SurveyText, len(v.Texts)),
		Questions: make([]*surveyv1.Question, len(v.Questions)),
	}
	for lang, t := range v.Texts {
		p.Texts[lang] = &surveyv1.SurveyText{Title: t.Title, Intro: t.Intro, Thanks: t.Thanks, EmailSubject: t.EmailSubject}
	}
	for i, q := range v.Questions {
		pq := &surveyv1.Question{Id: q.ID, Kind: QuestionKinds.Proto(q.Kind), Required: q.Required,
			Texts: make(map[string]*surveyv1.QuestionText, len(q.Texts))}
		for lang, t := range q.Texts {
			pq.Texts[lang] = &surveyv1.QuestionText{Prompt: t.Prompt, LowLabel: t.LowLabel, HighLabel: t.HighLabel}
		}
		for _, c := range q.Choices {
			pq.Choices = append(pq.Choices, &surveyv1.Choice{Id: c.ID, Labels: c.Labels})
		}
		if c := q.ShowIf; c != nil {
			pq.ShowIf = &surveyv1.ShowIf{QuestionId: c.QuestionID, MinScore: int32Ptr(c.MinScore), MaxScore: int32Ptr(c.MaxScore), AnyOf: c.AnyOf}
		}
		p.Questions[i] = pq
	}
	return p
}

func timestamp(t interface{ IsZero() bool }, ts *timestamppb.Timestamp) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return ts
}

// ToProtoVersion is a version as the API returns it.
func ToProtoVersion(v domain.SurveyVersion) *surveyv1.SurveyVersion {
	return &surveyv1.SurveyVersion{
		Version:     int32(v.Version),
		Status:      VersionStatuses.Proto(v.Status),
		Spec:        ToProtoSpec(v),
		ScoreKind:   ScoreKinds.Proto(v.ScoreKind),
		CreatedAt:   timestamppb.New(v.CreatedAt),
		PublishedAt: timestamp(v.PublishedAt, timestamppb.New(v.PublishedAt)),
	}
}

// ToProtoSurvey is a survey as the API returns it.
func ToProtoSurvey(s domain.Survey) *surveyv1.Survey {
	return &surveyv1.Survey{
		SurveyId:         s.ID,
		Name:             s.Name,
		PublishedVersion: int32(s.PublishedVersion),
		LatestVersion:    int32(s.LatestVersion),
		Retired:          s.Retired(),
		CreatedAt:        timestamppb.New(s.CreatedAt),
		RetiredAt:        timestamp(s.RetiredAt, timestamppb.New(s.RetiredAt)),
	}
}
