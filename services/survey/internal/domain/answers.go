package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Answer is the answer to one question: a score for a scale question, choice ids for a
// choice question, a text for an open-text question.
type Answer struct {
	QuestionID string
	Score      *int
	ChoiceIDs  []string
	Text       string
}

// Answers are the answers given, by question id.
type Answers map[string]Answer

// Merge returns a with b's answers over it.
func (a Answers) Merge(b Answers) Answers {
	out := make(Answers, len(a)+len(b))
	for id, x := range a {
		out[id] = x
	}
	for id, x := range b {
		out[id] = x
	}
	return out
}

// given reports whether x answers anything.
func (x Answer) given() bool {
	return x.Score != nil || len(x.ChoiceIDs) > 0 || x.Text != ""
}

// Visible returns the questions shown given the answers so far, in order: a question
// with a condition is shown when the question it refers to is shown and its answer
// matches.
func (v SurveyVersion) Visible(a Answers) []Question {
	shown := make(map[string]bool, len(v.Questions))
	var out []Question
	for _, q := range v.Questions {
		if q.ShowIf == nil || (shown[q.ShowIf.QuestionID] && q.ShowIf.matches(a[q.ShowIf.QuestionID])) {
			shown[q.ID] = true
			out = append(out, q)
		}
	}
	return out
}

func (s ShowIf) matches(x Answer) bool {
	if len(s.AnyOf) > 0 {
		for _, id := range x.ChoiceIDs {
			if slices.Contains(s.AnyOf, id) {
				return true
			}
		}
		return false
	}
	if x.Score == nil {
		return false
	}
	return (s.MinScore == nil || *x.Score >= *s.MinScore) && (s.MaxScore == nil || *x.Score <= *s.MaxScore)
}

// Check validates final answers: every required visible question is answered and every
// answer given is valid for its question. Answers to hidden questions are no error (see
// Final). Errors are *FieldError naming answers[<question id>].
func (v SurveyVersion) Check(a Answers) error {
	_, err := v.Final(a)
	return err
}

// Final returns the answers to record: those to visible questions, cleaned; answers to
// questions hidden by the answers given are dropped. It fails as Check does.
func (v SurveyVersion) Final(a Answers) (Answers, error) {
	for id := range a {
		if _, ok := v.Question(id); !ok {
			return nil, answerError(id, "no such question in this survey version", ErrInvalidAnswer)
		}
	}
	out := Answers{}
	for _, q := range v.Visible(a) {
		x, ok := a[q.ID]
		if ok {
			var err error
			if x, err = checkAnswer(q, x); err != nil {
				return nil, err
			}
			ok = x.given()
		}
		if !ok {
			if q.Required {
				return nil, answerError(q.ID, "required", ErrAnswerRequired)
			}
			continue
		}
		out[q.ID] = x
	}
	return out, nil
}

// Partial cleans answers saved on the way (a draft): each must be valid for its
// question; nothing is required, nothing hidden is dropped (the member may change the
// answer that hides it).
func (v SurveyVersion) Partial(a Answers) (Answers, error) {
	out := make(Answers, len(a))
	for id, x := range a {
		q, ok := v.Question(id)
		if !ok {
			return nil, answerError(id, "no such question in this survey version", ErrInvalidAnswer)
		}
		x, err := checkAnswer(q, x)
		if err != nil {
			return nil, err
		}
		out[id] = x
	}
	return out, nil
}

// checkAnswer validates x for q and returns it cleaned.
func checkAnswer(q Question, x Answer) (Answer, error) {
	x.QuestionID = q.ID
	if lo, hi, scale := q.Scale(); scale {
		if len(x.ChoiceIDs) > 0 || x.Text != "" {
			return x, answerError(q.ID, "a scale question takes a score only", ErrInvalidAnswer)
		}
		if x.Score != nil && (*x.Score < lo || *x.Score > hi) {
			return x, answerError(q.ID, fmt.Sprintf("score must be %d-%d", lo, hi), ErrScoreOutOfRange)
		}
		return x, nil
	}
	if x.Score != nil {
		return x, answerError(q.ID, "only a scale question takes a score", ErrInvalidAnswer)
	}
	switch q.Kind {
	case QuestionOpenText:
		if len(x.ChoiceIDs) > 0 {
			return x, answerError(q.ID, "an open-text question takes a text only", ErrInvalidAnswer)
		}
		x.Text = CleanComment(x.Text)
		if utf8.RuneCountInString(x.Text) > MaxCommentLen {
			return x, answerError(q.ID, fmt.Sprintf("text longer than %d characters", MaxCommentLen), ErrCommentTooLong)
		}
	case QuestionSingleChoice, QuestionMultipleChoice:
		if x.Text != "" {
			return x, answerError(q.ID, "a choice question takes choice ids only", ErrInvalidAnswer)
		}
		var ids []string
		for _, id := range x.ChoiceIDs {
			if _, ok := q.Choice(id); !ok {
				return x, answerError(q.ID, fmt.Sprintf("%q is no choice of this question", id), ErrInvalidAnswer)
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if q.Kind == QuestionSingleChoice && len(ids) > 1 {
			return x, answerError(q.ID, "choose one", ErrInvalidAnswer)
		}
		x.ChoiceIDs = ids
	}
	return x, nil
}

func answerError(questionID, reason string, sentinel error) error {
	return &FieldError{Field: "answers[" + questionID + "]", Reason: reason, Err: sentinel}
}

// Score is the typed score of a response: the score question's answer and what it means
// for its kind.
type Score struct {
	Kind  ScoreKind
	Value int
	// NPSClass for NPS; "" otherwise.
	NPSClass NPSClass
	// CSATSatisfied: a CSAT answer of 4 or 5.
	CSATSatisfied bool
	// CESLowEffort: a CES answer of 5, 6 or 7 ("easy").
	CESLowEffort bool
}

// ScoreOf returns the typed score of answers to version v.
func ScoreOf(v SurveyVersion, a Answers) (Score, error) {
	q, ok := v.Question(v.ScoreQuestionID)
	if !ok {
		return Score{}, fmt.Errorf("%w: survey %s version %d has no score question", ErrInvalidDefinition, v.SurveyID, v.Version)
	}
	x := a[q.ID]
	if x.Score == nil {
		return Score{}, answerError(q.ID, "required", ErrAnswerRequired)
	}
	lo, hi, _ := q.Scale()
	n := *x.Score
	if n < lo || n > hi {
		return Score{}, answerError(q.ID, fmt.Sprintf("score must be %d-%d", lo, hi), ErrScoreOutOfRange)
	}
	s := Score{Kind: ScoreKind(q.Kind), Value: n}
	switch s.Kind {
	case ScoreNPS:
		s.NPSClass, _ = ClassifyNPS(n)
	case ScoreCSAT:
		s.CSATSatisfied = n >= 4
	case ScoreCES:
		s.CESLowEffort = n >= 5
	}
	return s, nil
}

// ScoreAnswers are the answers of a client that sends a score and a comment only (the
// API from before surveys had several questions): the score answers the score question,
// the comment the first open-text question shown for that score. ok is false when no
// open-text question is shown, so the comment has no place.
func (v SurveyVersion) ScoreAnswers(score int, comment string) (a Answers, ok bool) {
	a = Answers{v.ScoreQuestionID: {QuestionID: v.ScoreQuestionID, Score: &score}}
	comment = CleanComment(comment)
	if comment == "" {
		return a, true
	}
	for _, q := range v.Visible(a) {
		if q.Kind == QuestionOpenText {
			a[q.ID] = Answer{QuestionID: q.ID, Text: comment}
			return a, true
		}
	}
	return a, false
}

// Comment returns the first visible open-text answer: the comment of consumers that know
// one free text only.
func (v SurveyVersion) Comment(a Answers) string {
	for _, q := range v.Visible(a) {
		if q.Kind == QuestionOpenText && a[q.ID].Text != "" {
			return a[q.ID].Text
		}
	}
	return ""
}

// QuestionOf returns the id of the question an answer error is about ("" for another
// error), for a page that shows the error beside its question.
func QuestionOf(err error) string {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return ""
	}
	id, ok := strings.CutPrefix(fe.Field, "answers[")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(id, "]")
}
