package main

import (
	"context"
	"fmt"
	"io"

	"google.golang.org/grpc"

	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
)

// demoSurveyKey is the idempotency key of the demo's survey: a later run of `make run`
// on the same database gets the survey the first run made.
const demoSurveyKey = "demo-survey-delivery"

// demoSurveys defines, as marketing would, a CSAT survey after a delivery with
// follow-ups by answer, in English and German, and publishes it: beside the seeded NPS,
// CSAT and CES surveys it is one to point a trigger rule at. conn is the survey
// service's, as marketing: s.Conn("survey", "marketing"). It returns the survey's id.
func demoSurveys(ctx context.Context, conn grpc.ClientConnInterface, out io.Writer) (string, error) {
	score := func(n int32) *int32 { return &n }
	texts := func(en, de string) map[string]*surveyv1.QuestionText {
		return map[string]*surveyv1.QuestionText{"en": {Prompt: en}, "de": {Prompt: de}}
	}
	resp, err := surveyv1.NewDefinitionServiceClient(conn).CreateSurvey(ctx, &surveyv1.CreateSurveyRequest{
		IdempotencyKey: demoSurveyKey, Name: "Delivery", Publish: true,
		Spec: &surveyv1.SurveyVersionSpec{
			DefaultLocale:   "en",
			ScoreQuestionId: "csat",
			Texts: map[string]*surveyv1.SurveyText{
				"en": {Title: "Your delivery", EmailSubject: "How was your delivery?", Thanks: "Thank you for your answer!"},
				"de": {Title: "Ihre Lieferung", EmailSubject: "Wie war Ihre Lieferung?", Thanks: "Vielen Dank für Ihre Antwort!"},
			},
			Questions: []*surveyv1.Question{
				{Id: "csat", Kind: surveyv1.QuestionKind_QUESTION_KIND_CSAT, Required: true, Texts: map[string]*surveyv1.QuestionText{
					"en": {Prompt: "How satisfied are you with the delivery?", LowLabel: "Very dissatisfied", HighLabel: "Very satisfied"},
					"de": {Prompt: "Wie zufrieden sind Sie mit der Lieferung?", LowLabel: "Sehr unzufrieden", HighLabel: "Sehr zufrieden"},
				}},
				{Id: "problem", Kind: surveyv1.QuestionKind_QUESTION_KIND_SINGLE_CHOICE, Required: true,
					Texts:  texts("What went wrong?", "Was lief schief?"),
					ShowIf: &surveyv1.ShowIf{QuestionId: "csat", MinScore: score(1), MaxScore: score(3)},
					Choices: []*surveyv1.Choice{
						{Id: "late", Labels: map[string]string{"en": "It was late", "de": "Sie kam zu spät"}},
						{Id: "damaged", Labels: map[string]string{"en": "It was damaged", "de": "Sie war beschädigt"}},
						{Id: "other", Labels: map[string]string{"en": "Something else", "de": "Etwas anderes"}},
					}},
				{Id: "detail", Kind: surveyv1.QuestionKind_QUESTION_KIND_OPEN_TEXT,
					Texts:  texts("What happened?", "Was ist passiert?"),
					ShowIf: &surveyv1.ShowIf{QuestionId: "problem", AnyOf: []string{"late", "damaged", "other"}}},
			},
		},
	})
	if err != nil {
		return "", fmt.Errorf("defining the demo survey: %w", err)
	}
	fmt.Fprintf(out, "Treue: survey %q (%s) version %d published, beside the seeded NPS, CSAT and CES surveys\n",
		resp.GetSurvey().GetName(), resp.GetSurvey().GetSurveyId(), resp.GetSurvey().GetPublishedVersion())
	return resp.GetSurvey().GetSurveyId(), nil
}
