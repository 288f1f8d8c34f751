package service_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
)

// storeVisitSurvey has a question of every kind: CSAT (the score), a single choice, a
// multiple choice shown for one of its choices, CES, and an open question for low scores.
func storeVisitSurvey() *surveyv1.CreateSurveyRequest {
	en := func(prompt string) map[string]*surveyv1.QuestionText {
		return map[string]*surveyv1.QuestionText{"en": {Prompt: prompt}}
	}
	choices := func(ids ...string) []*surveyv1.Choice {
		var out []*surveyv1.Choice
		for _, id := range ids {
			out = append(out, &surveyv1.Choice{Id: id, Labels: map[string]string{"en": "Label " + id}})
		}
		return out
	}
	three := int32(3)
	return &surveyv1.CreateSurveyRequest{
		IdempotencyKey: uuid.NewString(), Name: "Store visit", Publish: true,
		Spec: &surveyv1.SurveyVersionSpec{
			DefaultLocale:   "en",
			ScoreQuestionId: "csat",
			Texts: map[string]*surveyv1.SurveyText{"en": {
				Title: "Your visit", Intro: "Two minutes, no more.", Thanks: "Thanks for your visit!",
			}},
			Questions: []*surveyv1.Question{
				{Id: "csat", Kind: surveyv1.QuestionKind_QUESTION_KIND_CSAT, Required: true,
					Texts: map[string]*surveyv1.QuestionText{"en": {Prompt: "How satisfied are you?", LowLabel: "Not at all", HighLabel: "Very"}}},
				{Id: "visit", Kind: surveyv1.QuestionKind_QUESTION_KIND_SINGLE_CHOICE, Required: true,
					Texts: en("Why did you come?"), Choices: choices("buy", "browse", "return")},
				{Id: "liked", Kind: surveyv1.QuestionKind_QUESTION_KIND_MULTIPLE_CHOICE,
					Texts: en("What did you like?"), Choices: choices("staff", "price", "range"),
					ShowIf: &surveyv1.ShowIf{QuestionId: "visit", AnyOf: []string{"buy"}}},
				{Id: "ces", Kind: surveyv1.QuestionKind_QUESTION_KIND_CES,
					Texts: map[string]*surveyv1.QuestionText{"en": {Prompt: "How easy was it?", LowLabel: "Hard", HighLabel: "Easy"}}},
				{Id: "note", Kind: surveyv1.QuestionKind_QUESTION_KIND_OPEN_TEXT,
					Texts: en("What went wrong?"), ShowIf: &surveyv1.ShowIf{QuestionId: "csat", MaxScore: &three}},
			},
		},
	}
}

// The page renders every kind of question of the invitation's survey version, with its
// follow-ups by score and by choice, and records the answers to each.
func TestSurveyPageQuestionKinds(t *testing.T) {
	t.Parallel()
	e := start(t)
	defs := surveyv1.NewDefinitionServiceClient(e.Conn(e.api, "marketing"))
	created, err := defs.CreateSurvey(testkit.Ctx(t), storeVisitSurvey())
	if err != nil {
		t.Fatal(err)
	}
	surveyID := created.GetSurvey().GetSurveyId()
	link := e.receipt(&surveyv1.IssueReceiptLinkRequest{StoreId: "S9", TransactionId: "T-kinds", SurveyId: surveyID})
	path := strings.TrimPrefix(link.GetUrl(), publicURL)

	p := e.get(path)
	if p.code != http.StatusOK {
		t.Fatalf("GET: %d\n%s", p.code, p.body)
	}
	for _, want := range []string{
		"<title>Your visit</title>", `<p class="intro">Two minutes, no more.</p>`,
		`<div class="scale n5">`, `<span>1 = Not at all</span><span>5 = Very</span>`,
		`<legend>Why did you come?</legend>`,
		`<input type="radio" name="q.visit" value="buy" required><span>Label buy</span>`,
		`<input type="checkbox" name="q.liked" value="price"><span>Label price</span>`,
		`data-q="liked" data-show-if="visit" data-any-of="buy" hidden`,
		`<div class="scale n7">`, `<span>1 = Hard</span><span>7 = Easy</span>`,
		`data-q="note" data-show-if="csat" data-max="3" hidden`,
		`<input type="hidden" name="_shown" value="csat visit ces">`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(p.body, `name="q.csat"`); n != 5 {
		t.Errorf("%d CSAT buttons, want 5", n)
	}
	if n := strings.Count(p.body, `name="q.ces"`); n != 7 {
		t.Errorf("%d CES buttons, want 7", n)
	}

	// A required choice left out: the error at its question.
	p = e.post(path, url.Values{"q.csat": {"4"}, "_shown": {"csat visit ces"}})
	if p.code != http.StatusBadRequest || !strings.Contains(p.body, `<p class="error" id="q-visit-err">Please choose an answer.</p>`) ||
		!strings.Contains(p.body, `data-q="visit" aria-describedby="q-visit-err"`) {
		t.Errorf("without the required choice: %d\n%s", p.code, p.body)
	}
	// Not one of the choices.
	p = e.post(path, url.Values{"q.csat": {"4"}, "q.visit": {"steal"}, "_shown": {"csat visit ces"}})
	if p.code != http.StatusBadRequest || !strings.Contains(p.body, "not one of the choices") {
		t.Errorf("an unknown choice: %d\n%s", p.code, p.body)
	}

	// Without the script: a low score and "buy" reveal two follow-ups on the next page.
	p = e.post(path, url.Values{"q.csat": {"2"}, "q.visit": {"buy"}, "_shown": {"csat visit ces"}})
	if p.code != http.StatusOK {
		t.Fatalf("next: %d\n%s", p.code, p.body)
	}
	for _, id := range []string{"liked", "note"} {
		if _, hidden := hiddenQuestion(p.body, id); hidden {
			t.Errorf("after a 2 and buy, %s is hidden", id)
		}
	}
	if !strings.Contains(p.body, `name="q.visit" value="buy" checked`) {
		t.Error("the choice is not kept")
	}

	p = e.post(path, url.Values{"q.csat": {"2"}, "q.visit": {"buy"}, "q.liked": {"staff", "range"}, "q.ces": {"6"},
		"q.note": {"The queue"}, "_shown": {"csat visit liked ces note"}})
	if p.code != http.StatusOK || !strings.Contains(p.body, `<h1 id="thanks">Thanks for your visit!</h1>`) {
		t.Fatalf("send: %d\n%s", p.code, p.body)
	}
	ev := e.responseFor(link.GetInvitationId())
	if ev.GetScoreKind() != commonv1.ScoreKind_SCORE_KIND_CSAT || ev.GetScore() != 2 || ev.GetCsatSatisfied() ||
		ev.GetComment() != "The queue" || ev.GetMemberId() != "" || ev.GetEmployeeId() != "" || ev.GetStoreId() != "S9" {
		t.Errorf("survey.response.submitted: %v", ev)
	}
	got := map[string]*surveyv1.Answer{}
	for _, a := range ev.GetAnswers() {
		got[a.GetQuestionId()] = a
	}
	if len(got) != 5 || got["visit"].GetChoiceIds()[0] != "buy" || !slices.Equal(got["liked"].GetChoiceIds(), []string{"staff", "range"}) ||
		got["ces"].GetScore() != 6 || got["note"].GetText() != "The queue" {
		t.Errorf("answers: %v", ev.GetAnswers())
	}
}
