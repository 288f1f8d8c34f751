package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/treue/treue/services/survey/internal/domain"
)

func ptr(n int) *int { return &n }

func texts(prompt string) map[string]domain.QuestionText {
	return map[string]domain.QuestionText{"en": {Prompt: prompt}, "de": {Prompt: prompt + " (de)"}}
}

// npsVersion is the seeded NPS survey: a score and a follow-up per class.
func npsVersion() domain.SurveyVersion {
	return domain.SurveyVersion{
		SurveyID: "s", Version: 1, Status: domain.VersionPublished, DefaultLocale: "en",
		Texts:           map[string]domain.SurveyText{"en": {Title: "Your opinion"}, "de": {Title: "Ihre Meinung"}},
		ScoreQuestionID: "nps", ScoreKind: domain.ScoreNPS,
		Questions: []domain.Question{
			{ID: "nps", Kind: domain.QuestionNPS, Required: true, Texts: texts("How likely?")},
			{ID: "reason", Kind: domain.QuestionOpenText, Texts: texts("Why?"), ShowIf: &domain.ShowIf{QuestionID: "nps", MinScore: ptr(0), MaxScore: ptr(6)}},
			{ID: "improve", Kind: domain.QuestionOpenText, Texts: texts("Better?"), ShowIf: &domain.ShowIf{QuestionID: "nps", MinScore: ptr(7), MaxScore: ptr(8)}},
			{ID: "praise", Kind: domain.QuestionOpenText, Texts: texts("Liked?"), ShowIf: &domain.ShowIf{QuestionID: "nps", MinScore: ptr(9), MaxScore: ptr(10)}},
		},
	}
}

// richVersion has every kind of question: CSAT score, a single choice shown for low
// scores, a multiple choice and an open text shown for one of its choices.
func richVersion() domain.SurveyVersion {
	choices := func(ids ...string) []domain.Choice {
		var out []domain.Choice
		for _, id := range ids {
			out = append(out, domain.Choice{ID: id, Labels: map[string]string{"en": strings.ToUpper(id)}})
		}
		return out
	}
	return domain.SurveyVersion{
		SurveyID: "s2", Version: 3, DefaultLocale: "en",
		Texts:           map[string]domain.SurveyText{"en": {Title: "Service"}, "de": {Title: "Service (de)"}},
		ScoreQuestionID: "csat",
		Questions: []domain.Question{
			{ID: "csat", Kind: domain.QuestionCSAT, Required: true, Texts: texts("Satisfied?")},
			{ID: "topic", Kind: domain.QuestionSingleChoice, Required: true, Texts: texts("What about?"), Choices: choices("wait", "staff", "price"),
				ShowIf: &domain.ShowIf{QuestionID: "csat", MaxScore: ptr(3)}},
			{ID: "staff_detail", Kind: domain.QuestionMultipleChoice, Texts: texts("Which?"), Choices: choices("rude", "slow", "unsure"),
				ShowIf: &domain.ShowIf{QuestionID: "topic", AnyOf: []string{"staff"}}},
			{ID: "more", Kind: domain.QuestionOpenText, Texts: texts("Tell us more")},
			{ID: "ces", Kind: domain.QuestionCES, Texts: texts("Easy?")},
		},
	}
}

func ids(qs []domain.Question) string {
	var s []string
	for _, q := range qs {
		s = append(s, q.ID)
	}
	return strings.Join(s, ",")
}

func TestSeededShapesAreValid(t *testing.T) {
	t.Parallel()
	for _, v := range []domain.SurveyVersion{npsVersion(), richVersion()} {
		if err := v.Validate(); err != nil {
			t.Errorf("%s: %v", v.SurveyID, err)
		}
	}
}

func TestVisible(t *testing.T) {
	t.Parallel()
	nps := npsVersion()
	rich := richVersion()
	tests := []struct {
		name string
		v    domain.SurveyVersion
		a    domain.Answers
		want string
	}{
		{"nothing answered", nps, nil, "nps"},
		{"detractor", nps, domain.Answers{"nps": {Score: ptr(0)}}, "nps,reason"},
		{"6", nps, domain.Answers{"nps": {Score: ptr(6)}}, "nps,reason"},
		{"passive", nps, domain.Answers{"nps": {Score: ptr(7)}}, "nps,improve"},
		{"promoter", nps, domain.Answers{"nps": {Score: ptr(10)}}, "nps,praise"},
		{"satisfied", rich, domain.Answers{"csat": {Score: ptr(4)}}, "csat,more,ces"},
		{"unsatisfied", rich, domain.Answers{"csat": {Score: ptr(2)}}, "csat,topic,more,ces"},
		{"staff", rich, domain.Answers{"csat": {Score: ptr(2)}, "topic": {ChoiceIDs: []string{"staff"}}}, "csat,topic,staff_detail,more,ces"},
		// A choice kept from before the score changed does not show its follow-up.
		{"hidden parent", rich, domain.Answers{"csat": {Score: ptr(5)}, "topic": {ChoiceIDs: []string{"staff"}}}, "csat,more,ces"},
	}
	for _, tt := range tests {
		if got := ids(tt.v.Visible(tt.a)); got != tt.want {
			t.Errorf("%s: Visible = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestCheckAndFinal(t *testing.T) {
	t.Parallel()
	rich := richVersion()
	tests := []struct {
		name  string
		a     domain.Answers
		field string // "" for none
		err   error
	}{
		{"score only", domain.Answers{"csat": {Score: ptr(5)}}, "", nil},
		{"score missing", domain.Answers{"more": {Text: "hi"}}, "answers[csat]", domain.ErrAnswerRequired},
		{"score out of range", domain.Answers{"csat": {Score: ptr(6)}}, "answers[csat]", domain.ErrScoreOutOfRange},
		{"score 0 on CSAT", domain.Answers{"csat": {Score: ptr(0)}}, "answers[csat]", domain.ErrScoreOutOfRange},
		{"required follow-up missing", domain.Answers{"csat": {Score: ptr(1)}}, "answers[topic]", domain.ErrAnswerRequired},
		{"unknown choice", domain.Answers{"csat": {Score: ptr(1)}, "topic": {ChoiceIDs: []string{"weather"}}}, "answers[topic]", domain.ErrInvalidAnswer},
		{"two of a single choice", domain.Answers{"csat": {Score: ptr(1)}, "topic": {ChoiceIDs: []string{"wait", "price"}}}, "answers[topic]", domain.ErrInvalidAnswer},
		{"several of a multiple choice", domain.Answers{"csat": {Score: ptr(1)}, "topic": {ChoiceIDs: []string{"staff"}},
			"staff_detail": {ChoiceIDs: []string{"rude", "slow", "rude"}}}, "", nil},
		{"unknown question", domain.Answers{"csat": {Score: ptr(5)}, "weather": {Text: "sunny"}}, "answers[weather]", domain.ErrInvalidAnswer},
		{"text on a scale", domain.Answers{"csat": {Score: ptr(5), Text: "x"}}, "answers[csat]", domain.ErrInvalidAnswer},
		{"score on a text", domain.Answers{"csat": {Score: ptr(5)}, "more": {Score: ptr(1)}}, "answers[more]", domain.ErrInvalidAnswer},
		{"text too long", domain.Answers{"csat": {Score: ptr(5)}, "more": {Text: strings.Repeat("ü", domain.MaxCommentLen+1)}}, "answers[more]", domain.ErrCommentTooLong},
		{"CES out of range", domain.Answers{"csat": {Score: ptr(5)}, "ces": {Score: ptr(8)}}, "answers[ces]", domain.ErrScoreOutOfRange},
		// Hidden questions' answers are dropped, not refused.
		{"answer to a hidden question", domain.Answers{"csat": {Score: ptr(5)}, "topic": {ChoiceIDs: []string{"weather"}}}, "", nil},
	}
	for _, tt := range tests {
		err := rich.Check(tt.a)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
			continue
		}
		var fe *domain.FieldError
		if tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field || "answers["+domain.QuestionOf(err)+"]" != tt.field) {
			t.Errorf("%s: err = %v, want field %s", tt.name, err, tt.field)
		}
	}

	final, err := rich.Final(domain.Answers{
		"csat": {Score: ptr(5)}, "topic": {ChoiceIDs: []string{"staff"}}, "more": {Text: "  a\x00b  "},
		"staff_detail": {ChoiceIDs: []string{"rude"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(final) != 2 || final["more"].Text != "ab" || final["csat"].QuestionID != "csat" {
		t.Errorf("Final = %+v, want csat and the cleaned text only", final)
	}
	final, err = rich.Final(domain.Answers{"csat": {Score: ptr(1)}, "topic": {ChoiceIDs: []string{"staff", "staff"}}, "more": {Text: "   "}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := final["more"]; ok || len(final["topic"].ChoiceIDs) != 1 {
		t.Errorf("Final = %+v, want a blank text left out and choices once", final)
	}
}

func TestPartial(t *testing.T) {
	t.Parallel()
	rich := richVersion()
	got, err := rich.Partial(domain.Answers{"more": {Text: " draft "}, "topic": {ChoiceIDs: []string{"wait"}}})
	if err != nil || got["more"].Text != "draft" || len(got) != 2 {
		t.Errorf("Partial = %+v, %v", got, err)
	}
	if _, err := rich.Partial(domain.Answers{"csat": {Score: ptr(9)}}); !errors.Is(err, domain.ErrScoreOutOfRange) {
		t.Errorf("Partial with a bad score: %v", err)
	}
	merged := domain.Answers{"a": {Text: "1"}, "b": {Text: "2"}}.Merge(domain.Answers{"b": {Text: "3"}})
	if merged["a"].Text != "1" || merged["b"].Text != "3" {
		t.Errorf("Merge = %+v", merged)
	}
}

func TestScoreOf(t *testing.T) {
	t.Parallel()
	nps := npsVersion()
	csat := richVersion()
	ces := domain.SurveyVersion{ScoreQuestionID: "ces", Questions: []domain.Question{{ID: "ces", Kind: domain.QuestionCES, Required: true}}}
	tests := []struct {
		v         domain.SurveyVersion
		qid       string
		score     int
		kind      domain.ScoreKind
		class     domain.NPSClass
		satisfied bool
		lowEffort bool
	}{
		{nps, "nps", 6, domain.ScoreNPS, domain.Detractor, false, false},
		{nps, "nps", 8, domain.ScoreNPS, domain.Passive, false, false},
		{nps, "nps", 9, domain.ScoreNPS, domain.Promoter, false, false},
		{csat, "csat", 3, domain.ScoreCSAT, "", false, false},
		{csat, "csat", 4, domain.ScoreCSAT, "", true, false},
		{csat, "csat", 5, domain.ScoreCSAT, "", true, false},
		{ces, "ces", 4, domain.ScoreCES, "", false, false},
		{ces, "ces", 5, domain.ScoreCES, "", false, true},
		{ces, "ces", 7, domain.ScoreCES, "", false, true},
	}
	for _, tt := range tests {
		s, err := domain.ScoreOf(tt.v, domain.Answers{tt.qid: {Score: ptr(tt.score)}})
		if err != nil {
			t.Fatal(err)
		}
		if s.Kind != tt.kind || s.Value != tt.score || s.NPSClass != tt.class || s.CSATSatisfied != tt.satisfied || s.CESLowEffort != tt.lowEffort {
			t.Errorf("%s %d: %+v", tt.kind, tt.score, s)
		}
	}
	if _, err := domain.ScoreOf(ces, domain.Answers{"ces": {Score: ptr(0)}}); !errors.Is(err, domain.ErrScoreOutOfRange) {
		t.Errorf("CES 0: %v", err)
	}
	if _, err := domain.ScoreOf(nps, nil); !errors.Is(err, domain.ErrAnswerRequired) {
		t.Errorf("no answer: %v", err)
	}
}

func TestScoreAnswersPlaceTheComment(t *testing.T) {
	t.Parallel()
	nps := npsVersion()
	for score, want := range map[int]string{3: "reason", 7: "improve", 10: "praise"} {
		a, ok := nps.ScoreAnswers(score, " because ")
		if !ok || a[want].Text != "because" || *a["nps"].Score != score || len(a) != 2 {
			t.Errorf("score %d: %+v %v, want the comment in %s", score, a, ok, want)
		}
		if c := nps.Comment(a); c != "because" {
			t.Errorf("score %d: Comment = %q", score, c)
		}
	}
	noText := domain.SurveyVersion{ScoreQuestionID: "nps", Questions: []domain.Question{{ID: "nps", Kind: domain.QuestionNPS, Required: true}}}
	if _, ok := noText.ScoreAnswers(5, "x"); ok {
		t.Error("a comment without an open-text question was placed")
	}
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(v *domain.SurveyVersion)
		field  string
	}{
		{"bad default locale", func(v *domain.SurveyVersion) { v.DefaultLocale = "EN-x" }, "spec.default_locale"},
		{"no default texts", func(v *domain.SurveyVersion) { v.DefaultLocale = "fr" }, "spec.texts"},
		{"duplicate id", func(v *domain.SurveyVersion) { v.Questions[3].ID = "topic" }, "spec.questions[3].id"},
		{"no score question", func(v *domain.SurveyVersion) { v.ScoreQuestionID = "nope" }, "spec.score_question_id"},
		{"score question is text", func(v *domain.SurveyVersion) { v.ScoreQuestionID = "more" }, "spec.score_question_id"},
		{"score question optional", func(v *domain.SurveyVersion) { v.Questions[0].Required = false }, "spec.questions[0].required"},
		{"score question conditional", func(v *domain.SurveyVersion) {
			v.ScoreQuestionID = "ces"
			v.Questions[4].Required = true
			v.Questions[4].ShowIf = &domain.ShowIf{QuestionID: "csat", MinScore: ptr(1)}
		}, "spec.questions[4].show_if"},
		{"condition on a later question", func(v *domain.SurveyVersion) { v.Questions[1].ShowIf.QuestionID = "ces" }, "spec.questions[1].show_if.question_id"},
		{"condition on itself", func(v *domain.SurveyVersion) { v.Questions[1].ShowIf.QuestionID = "topic" }, "spec.questions[1].show_if.question_id"},
		{"condition on an unknown question", func(v *domain.SurveyVersion) { v.Questions[2].ShowIf.QuestionID = "x" }, "spec.questions[2].show_if.question_id"},
		{"range beyond the scale", func(v *domain.SurveyVersion) { v.Questions[1].ShowIf.MaxScore = ptr(9) }, "spec.questions[1].show_if.max_score"},
		{"range below the scale", func(v *domain.SurveyVersion) { v.Questions[1].ShowIf.MinScore = ptr(0) }, "spec.questions[1].show_if.min_score"},
		{"range upside down", func(v *domain.SurveyVersion) {
			v.Questions[1].ShowIf.MinScore = ptr(3)
			v.Questions[1].ShowIf.MaxScore = ptr(2)
		}, "spec.questions[1].show_if.max_score"},
		{"empty condition", func(v *domain.SurveyVersion) { v.Questions[1].ShowIf.MaxScore = nil }, "spec.questions[1].show_if"},
		{"unknown choice in condition", func(v *domain.SurveyVersion) { v.Questions[2].ShowIf.AnyOf = []string{"staff", "moon"} }, "spec.questions[2].show_if.any_of[1]"},
		{"score range on a choice", func(v *domain.SurveyVersion) { v.Questions[2].ShowIf.MinScore = ptr(1) }, "spec.questions[2].show_if.min_score"},
		{"condition on open text", func(v *domain.SurveyVersion) {
			v.Questions[4].ShowIf = &domain.ShowIf{QuestionID: "more", AnyOf: []string{"x"}}
		}, "spec.questions[4].show_if.question_id"},
		{"no default prompt", func(v *domain.SurveyVersion) {
			v.Questions[3].Texts = map[string]domain.QuestionText{"de": {Prompt: "x"}}
		}, "spec.questions[3].texts"},
		{"one choice", func(v *domain.SurveyVersion) { v.Questions[1].Choices = v.Questions[1].Choices[:1] }, "spec.questions[1].choices"},
		{"duplicate choice", func(v *domain.SurveyVersion) { v.Questions[1].Choices[2].ID = "wait" }, "spec.questions[1].choices[2].id"},
		{"choices on text", func(v *domain.SurveyVersion) { v.Questions[3].Choices = v.Questions[1].Choices }, "spec.questions[3].choices"},
		{"unknown kind", func(v *domain.SurveyVersion) { v.Questions[3].Kind = "SLIDER" }, "spec.questions[3].kind"},
	}
	for _, tt := range tests {
		v := richVersion()
		tt.change(&v)
		err := v.Validate()
		var fe *domain.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, domain.ErrInvalidDefinition) {
			t.Errorf("%s: err = %v, want field %s", tt.name, err, tt.field)
		}
	}
}
