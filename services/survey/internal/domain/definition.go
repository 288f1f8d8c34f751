package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// QuestionKind is what a question asks for.
type QuestionKind string

const (
	QuestionNPS            QuestionKind = "NPS"  // 0-10
	QuestionCSAT           QuestionKind = "CSAT" // 1-5
	QuestionCES            QuestionKind = "CES"  // 1-7
	QuestionSingleChoice   QuestionKind = "SINGLE_CHOICE"
	QuestionMultipleChoice QuestionKind = "MULTIPLE_CHOICE"
	QuestionOpenText       QuestionKind = "OPEN_TEXT"
)

// ScoreKind is the kind of the score that drives routing and reporting.
type ScoreKind string

const (
	ScoreNPS  ScoreKind = "NPS"
	ScoreCSAT ScoreKind = "CSAT"
	ScoreCES  ScoreKind = "CES"
)

// Version statuses: a draft until published; a published version is replaced
// (superseded) by the next one published. Only a draft can change.
const (
	VersionDraft      = "DRAFT"
	VersionPublished  = "PUBLISHED"
	VersionSuperseded = "SUPERSEDED"
)

// Limits of a definition.
const (
	MaxQuestions = 30
	MaxChoices   = 50
)

// QuestionText is a question's wording in one language. The labels say what the lowest
// and the highest score mean (scale questions only).
type QuestionText struct{ Prompt, LowLabel, HighLabel string }

// Choice is one option of a choice question, labelled by language.
type Choice struct {
	ID     string
	Labels map[string]string
}

// Label returns the choice's label in lang, or in the default language def.
func (c Choice) Label(lang, def string) string {
	if l, ok := c.Labels[lang]; ok {
		return l
	}
	return c.Labels[def]
}

// ShowIf shows a question only when the answer to an earlier question matches: a score
// within [MinScore, MaxScore] (either bound may be open) for a scale question, or one of
// AnyOf for a choice question.
type ShowIf struct {
	QuestionID         string
	MinScore, MaxScore *int
	AnyOf              []string
}

// Question is one question of a survey version.
type Question struct {
	ID       string
	Kind     QuestionKind
	Required bool
	Texts    map[string]QuestionText // by language
	Choices  []Choice
	ShowIf   *ShowIf // nil: always shown
}

// Scale returns the range of a scale question (NPS 0-10, CSAT 1-5, CES 1-7); ok is false
// for other kinds.
func (q Question) Scale() (minScore, maxScore int, ok bool) {
	switch q.Kind {
	case QuestionNPS:
		return 0, 10, true
	case QuestionCSAT:
		return 1, 5, true
	case QuestionCES:
		return 1, 7, true
	}
	return 0, 0, false
}

// Text returns the question's wording in lang, or in the default language def.
func (q Question) Text(lang, def string) QuestionText {
	if t, ok := q.Texts[lang]; ok {
		return t
	}
	return q.Texts[def]
}

// Choice returns the choice with id.
func (q Question) Choice(id string) (Choice, bool) {
	for _, c := range q.Choices {
		if c.ID == id {
			return c, true
		}
	}
	return Choice{}, false
}

func (q Question) choiceKind() bool {
	return q.Kind == QuestionSingleChoice || q.Kind == QuestionMultipleChoice
}

// SurveyText is the wording around the questions in one language.
type SurveyText struct{ Title, Intro, Thanks, EmailSubject string }

// Survey is a survey as managed: its name and which of its versions is published.
type Survey struct {
	ID   string
	Name string
	// PublishedVersion is the version new invitations go to; 0 while there is none.
	PublishedVersion int
	// LatestVersion is the newest version (a draft or the published one).
	LatestVersion int
	CreatedAt     time.Time
	RetiredAt     time.Time // zero while not retired
}

// Retired reports whether the survey takes no new invitations.
func (s Survey) Retired() bool { return !s.RetiredAt.IsZero() }

// SurveyVersion is one version of a survey: its questions and texts. Invitations are
// made to a published version and answered in it, whatever was published after.
type SurveyVersion struct {
	SurveyID, Name string
	Version        int
	Status         string // VersionDraft, VersionPublished or VersionSuperseded
	DefaultLocale  string
	Texts          map[string]SurveyText // by language
	Questions      []Question
	// ScoreQuestionID names the question whose answer is the typed score.
	ScoreQuestionID string
	ScoreKind       ScoreKind
	CreatedAt       time.Time
	PublishedAt     time.Time // zero until published
}

// Language returns the language to show a member of locale: theirs when the version
// has texts in it, the default language otherwise.
func (v SurveyVersion) Language(locale string) string {
	if lang := Language(locale); lang != "" {
		if _, ok := v.Texts[lang]; ok {
			return lang
		}
	}
	return v.DefaultLocale
}

// Text returns the survey's wording in lang, or in the default language.
func (v SurveyVersion) Text(lang string) SurveyText {
	if t, ok := v.Texts[lang]; ok {
		return t
	}
	return v.Texts[v.DefaultLocale]
}

// Question returns the question with id.
func (v SurveyVersion) Question(id string) (Question, bool) {
	for _, q := range v.Questions {
		if q.ID == id {
			return q, true
		}
	}
	return Question{}, false
}

// ScoreQuestion returns the question whose answer is the score.
func (v SurveyVersion) ScoreQuestion() Question {
	q, _ := v.Question(v.ScoreQuestionID)
	return q
}

// Hash identifies the definition's content (name, texts and questions; not its number,
// status or times): a retried create with the same key must carry the same content.
func (v SurveyVersion) Hash(extra ...string) string {
	b, _ := json.Marshal(struct {
		Name          string
		DefaultLocale string
		Texts         map[string]SurveyText
		Questions     []Question
		Score         string
		Extra         []string
	}{v.Name, v.DefaultLocale, v.Texts, v.Questions, v.ScoreQuestionID, extra})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// FieldError is a definition or an answer that breaks a rule; Field is the path of the
// field in the request (spec.questions[2].show_if.question_id).
type FieldError struct {
	Field, Reason string
	Err           error // the sentinel it is, if any
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns the sentinel, so that errors.Is sees ErrInvalidDefinition and the like.
func (e *FieldError) Unwrap() error { return e.Err }

var idPattern = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
var langPattern = regexp.MustCompile(`^[a-z]{2,3}$`)

// Validate checks a version's definition before it is stored: unique question ids; the
// score question exists, is NPS, CSAT or CES, required and always shown; a ShowIf refers
// to an earlier question and fits it; every question and the survey have texts in the
// default language; a choice question has at least two choices with unique ids. Errors
// are *FieldError naming the field under spec.
func (v SurveyVersion) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: "spec." + field, Reason: fmt.Sprintf(format, args...), Err: ErrInvalidDefinition}
	}
	if !langPattern.MatchString(v.DefaultLocale) {
		return bad("default_locale", "must be a language code such as en or de")
	}
	if _, ok := v.Texts[v.DefaultLocale]; !ok {
		return bad("texts", "must have the default language %q", v.DefaultLocale)
	}
	for _, lang := range sortedKeys(v.Texts) {
		t := v.Texts[lang]
		if !langPattern.MatchString(lang) {
			return bad(fmt.Sprintf("texts[%s]", lang), "not a language code such as en or de")
		}
		if t.Title == "" {
			return bad(fmt.Sprintf("texts[%s].title", lang), "must not be empty")
		}
	}
	if len(v.Questions) == 0 || len(v.Questions) > MaxQuestions {
		return bad("questions", "must have 1 to %d questions", MaxQuestions)
	}
	index := make(map[string]int, len(v.Questions))
	for i, q := range v.Questions {
		at := fmt.Sprintf("questions[%d]", i)
		if !idPattern.MatchString(q.ID) {
			return bad(at+".id", "must match [a-z0-9_]{1,32}")
		}
		if j, dup := index[q.ID]; dup {
			return bad(at+".id", "%q is already the id of questions[%d]", q.ID, j)
		}
		index[q.ID] = i
		switch q.Kind {
		case QuestionNPS, QuestionCSAT, QuestionCES, QuestionSingleChoice, QuestionMultipleChoice, QuestionOpenText:
		default:
			return bad(at+".kind", "unknown kind %q", q.Kind)
		}
		if t, ok := q.Texts[v.DefaultLocale]; !ok || t.Prompt == "" {
			return bad(at+".texts", "must have a prompt in the default language %q", v.DefaultLocale)
		}
		// Every language the survey offers, so that no page mixes two.
		for _, lang := range sortedKeys(v.Texts) {
			if t, ok := q.Texts[lang]; !ok || t.Prompt == "" {
				return bad(at+".texts", "must have a prompt in %q, a language of the survey", lang)
			}
		}
		for _, lang := range sortedKeys(q.Texts) {
			if _, ok := v.Texts[lang]; !ok {
				return bad(fmt.Sprintf("%s.texts[%s]", at, lang), "the survey has no texts in %q", lang)
			}
		}
		if q.choiceKind() {
			if len(q.Choices) < 2 || len(q.Choices) > MaxChoices {
				return bad(at+".choices", "a choice question must have 2 to %d choices", MaxChoices)
			}
			seen := map[string]bool{}
			for k, c := range q.Choices {
				if !idPattern.MatchString(c.ID) {
					return bad(fmt.Sprintf("%s.choices[%d].id", at, k), "must match [a-z0-9_]{1,32}")
				}
				if seen[c.ID] {
					return bad(fmt.Sprintf("%s.choices[%d].id", at, k), "%q is not unique", c.ID)
				}
				seen[c.ID] = true
				if c.Labels[v.DefaultLocale] == "" {
					return bad(fmt.Sprintf("%s.choices[%d].labels", at, k), "must have a label in the default language %q", v.DefaultLocale)
				}
			}
		} else if len(q.Choices) > 0 {
			return bad(at+".choices", "only choice questions have choices")
		}
		if err := v.validateShowIf(q, i, index, bad); err != nil {
			return err
		}
	}
	i, ok := index[v.ScoreQuestionID]
	if !ok {
		return bad("score_question_id", "no question %q", v.ScoreQuestionID)
	}
	q := v.Questions[i]
	if _, _, scale := q.Scale(); !scale {
		return bad("score_question_id", "question %q is %s, not NPS, CSAT or CES", q.ID, q.Kind)
	}
	if !q.Required {
		return bad(fmt.Sprintf("questions[%d].required", i), "the score question must be required")
	}
	if q.ShowIf != nil {
		return bad(fmt.Sprintf("questions[%d].show_if", i), "the score question must always be shown")
	}
	return nil
}

func (v SurveyVersion) validateShowIf(q Question, i int, index map[string]int, bad func(string, string, ...any) error) error {
	s := q.ShowIf
	if s == nil {
		return nil
	}
	at := fmt.Sprintf("questions[%d].show_if", i)
	j, ok := index[s.QuestionID]
	if !ok || j >= i {
		return bad(at+".question_id", "must name an earlier question, not %q", s.QuestionID)
	}
	ref := v.Questions[j]
	if lo, hi, scale := ref.Scale(); scale {
		if len(s.AnyOf) > 0 {
			return bad(at+".any_of", "question %q is a scale: use min_score and max_score", ref.ID)
		}
		if s.MinScore == nil && s.MaxScore == nil {
			return bad(at, "needs min_score or max_score")
		}
		if s.MinScore != nil && (*s.MinScore < lo || *s.MinScore > hi) {
			return bad(at+".min_score", "must be within %d-%d, the scale of %q", lo, hi, ref.ID)
		}
		if s.MaxScore != nil && (*s.MaxScore < lo || *s.MaxScore > hi) {
			return bad(at+".max_score", "must be within %d-%d, the scale of %q", lo, hi, ref.ID)
		}
		if s.MinScore != nil && s.MaxScore != nil && *s.MinScore > *s.MaxScore {
			return bad(at+".max_score", "must not be below min_score")
		}
		return nil
	}
	if !ref.choiceKind() {
		return bad(at+".question_id", "question %q is open text: a condition needs a scale or a choice question", ref.ID)
	}
	if s.MinScore != nil || s.MaxScore != nil {
		return bad(at+".min_score", "question %q is a choice: use any_of", ref.ID)
	}
	if len(s.AnyOf) == 0 {
		return bad(at+".any_of", "needs at least one choice id of %q", ref.ID)
	}
	for k, id := range s.AnyOf {
		if _, ok := ref.Choice(id); !ok {
			return bad(fmt.Sprintf("%s.any_of[%d]", at, k), "%q is no choice of %q", id, ref.ID)
		}
	}
	return nil
}

// sortedKeys returns a map's keys in order, so that the first error found is always the
// same one.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
