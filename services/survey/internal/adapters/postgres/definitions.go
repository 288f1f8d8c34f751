package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

// The JSON of survey_versions.spec: the shape of treue.survey.v1.SurveyVersionSpec in
// snake_case, so that a seed in SQL reads like the API.
type (
	specJSON struct {
		DefaultLocale   string                    `json:"default_locale"`
		Texts           map[string]surveyTextJSON `json:"texts"`
		Questions       []questionJSON            `json:"questions"`
		ScoreQuestionID string                    `json:"score_question_id"`
	}
	surveyTextJSON struct {
		Title        string `json:"title"`
		Intro        string `json:"intro,omitempty"`
		Thanks       string `json:"thanks,omitempty"`
		EmailSubject string `json:"email_subject,omitempty"`
	}
	questionJSON struct {
		ID       string                      `json:"id"`
		Kind     string                      `json:"kind"`
		Required bool                        `json:"required"`
		Texts    map[string]questionTextJSON `json:"texts"`
		Choices  []choiceJSON                `json:"choices,omitempty"`
		ShowIf   *showIfJSON                 `json:"show_if,omitempty"`
	}
	questionTextJSON struct {
		Prompt    string `json:"prompt"`
		LowLabel  string `json:"low_label,omitempty"`
		HighLabel string `json:"high_label,omitempty"`
	}
	choiceJSON struct {
		ID     string            `json:"id"`
		Labels map[string]string `json:"labels"`
	}
	showIfJSON struct {
		QuestionID string   `json:"question_id"`
		MinScore   *int     `json:"min_score,omitempty"`
		MaxScore   *int     `json:"max_score,omitempty"`
		AnyOf      []string `json:"any_of,omitempty"`
	}
	// answerJSON is one answer in responses.answers and response_drafts.answers, keyed
	// by question id.
	answerJSON struct {
		Score     *int     `json:"score,omitempty"`
		ChoiceIDs []string `json:"choice_ids,omitempty"`
		Text      string   `json:"text,omitempty"`
	}
)

func toSpecJSON(v domain.SurveyVersion) specJSON {
	s := specJSON{DefaultLocale: v.DefaultLocale, ScoreQuestionID: v.ScoreQuestionID,
		Texts: map[string]surveyTextJSON{}, Questions: make([]questionJSON, len(v.Questions))}
	for lang, t := range v.Texts {
		s.Texts[lang] = surveyTextJSON(t)
	}
	for i, q := range v.Questions {
		qj := questionJSON{ID: q.ID, Kind: string(q.Kind), Required: q.Required, Texts: map[string]questionTextJSON{}}
		for lang, t := range q.Texts {
			qj.Texts[lang] = questionTextJSON(t)
		}
		for _, c := range q.Choices {
			qj.Choices = append(qj.Choices, choiceJSON(c))
		}
		if c := q.ShowIf; c != nil {
			qj.ShowIf = &showIfJSON{QuestionID: c.QuestionID, MinScore: c.MinScore, MaxScore: c.MaxScore, AnyOf: c.AnyOf}
		}
		s.Questions[i] = qj
	}
	return s
}

func (s specJSON) apply(v *domain.SurveyVersion) {
	v.DefaultLocale, v.ScoreQuestionID = s.DefaultLocale, s.ScoreQuestionID
	v.Texts = make(map[string]domain.SurveyText, len(s.Texts))
	for lang, t := range s.Texts {
		v.Texts[lang] = domain.SurveyText(t)
	}
	v.Questions = make([]domain.Question, len(s.Questions))
	for i, qj := range s.Questions {
		q := domain.Question{ID: qj.ID, Kind: domain.QuestionKind(qj.Kind), Required: qj.Required,
			Texts: make(map[string]domain.QuestionText, len(qj.Texts))}
		for lang, t := range qj.Texts {
			q.Texts[lang] = domain.QuestionText(t)
		}
		for _, c := range qj.Choices {
			q.Choices = append(q.Choices, domain.Choice(c))
		}
		if c := qj.ShowIf; c != nil {
			q.ShowIf = &domain.ShowIf{QuestionID: c.QuestionID, MinScore: c.MinScore, MaxScore: c.MaxScore, AnyOf: c.AnyOf}
		}
		v.Questions[i] = q
	}
}

func answersJSON(a domain.Answers) ([]byte, error) {
	m := make(map[string]answerJSON, len(a))
	for id, x := range a {
		m[id] = answerJSON{Score: x.Score, ChoiceIDs: x.ChoiceIDs, Text: x.Text}
	}
	return json.Marshal(m)
}

func parseAnswers(b []byte) (domain.Answers, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var m map[string]answerJSON
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	a := make(domain.Answers, len(m))
	for id, x := range m {
		a[id] = domain.Answer{QuestionID: id, Score: x.Score, ChoiceIDs: x.ChoiceIDs, Text: x.Text}
	}
	return a, nil
}

const versionColumns = `v.survey_id::text, s.name, v.version, v.status, v.spec, v.score_kind, v.created_at, v.published_at`

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readVersion(ctx context.Context, q querier, surveyID string, version int) (domain.SurveyVersion, error) {
	var v domain.SurveyVersion
	var spec []byte
	var kind string
	var published *time.Time
	err := q.QueryRow(ctx, `SELECT `+versionColumns+`
		FROM survey_versions v JOIN surveys s ON s.id = v.survey_id
		WHERE v.survey_id = $1 AND v.version = $2`, surveyID, version).
		Scan(&v.SurveyID, &v.Name, &v.Version, &v.Status, &spec, &kind, &v.CreatedAt, &published)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.SurveyVersion{}, domain.ErrVersionNotFound
	}
	if err != nil {
		return domain.SurveyVersion{}, err
	}
	var sj specJSON
	if err := json.Unmarshal(spec, &sj); err != nil {
		return domain.SurveyVersion{}, fmt.Errorf("survey %s version %d: %w", surveyID, version, err)
	}
	sj.apply(&v)
	v.ScoreKind, v.CreatedAt = domain.ScoreKind(kind), v.CreatedAt.UTC()
	if published != nil {
		v.PublishedAt = published.UTC()
	}
	return v, nil
}

// SurveyVersion implements app.Store. Versions that are no draft never change but for
// their status (a published one is superseded later): they are kept in memory, and
// their Status may be stale there; GetSurvey reads afresh.
func (s *Store) SurveyVersion(ctx context.Context, surveyID string, version int) (domain.SurveyVersion, error) {
	return cachedVersion(ctx, &s.surveys, s.db.Pool, surveyID, version)
}

type versionKey struct {
	id string
	n  int
}

// cachedVersion reads a version through the memory of versions that are no draft.
func cachedVersion(ctx context.Context, cache *sync.Map, q querier, surveyID string, version int) (domain.SurveyVersion, error) {
	if cache != nil {
		if v, ok := cache.Load(versionKey{surveyID, version}); ok {
			return v.(domain.SurveyVersion), nil
		}
	}
	v, err := readVersion(ctx, q, surveyID, version)
	if err == nil && cache != nil && v.Status != domain.VersionDraft {
		cache.Store(versionKey{surveyID, version}, v)
	}
	return v, err
}

// PublishedVersion implements app.Store.
func (s *Store) PublishedVersion(ctx context.Context, surveyID string) (int, error) {
	var n int
	var retired bool
	err := s.db.Pool.QueryRow(ctx, `SELECT published_version, retired_at IS NOT NULL FROM surveys WHERE id = $1`, surveyID).Scan(&n, &retired)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, domain.ErrSurveyNotFound
	case err != nil:
		return 0, err
	case retired:
		return 0, domain.ErrSurveyRetired
	case n == 0:
		return 0, domain.ErrNoPublishedVersion
	}
	return n, nil
}

const surveyColumns = `s.id::text, s.name, s.published_version,
	coalesce((SELECT max(v.version) FROM survey_versions v WHERE v.survey_id = s.id), 0), s.created_at, s.retired_at`

func scanSurvey(row pgx.Row) (domain.Survey, error) {
	var sv domain.Survey
	var retired *time.Time
	if err := row.Scan(&sv.ID, &sv.Name, &sv.PublishedVersion, &sv.LatestVersion, &sv.CreatedAt, &retired); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.Survey{}, domain.ErrSurveyNotFound
		}
		return domain.Survey{}, err
	}
	sv.CreatedAt = sv.CreatedAt.UTC()
	if retired != nil {
		sv.RetiredAt = retired.UTC()
	}
	return sv, nil
}

// Survey implements app.Store.
func (s *Store) Survey(ctx context.Context, id string) (domain.Survey, error) {
	return scanSurvey(s.db.Pool.QueryRow(ctx, `SELECT `+surveyColumns+` FROM surveys s WHERE s.id = $1`, id))
}

// ListSurveys implements app.Store.
func (s *Store) ListSurveys(ctx context.Context, after *app.Cursor, limit int, includeRetired bool) ([]domain.Survey, error) {
	var afterAt *time.Time
	afterID := "00000000-0000-0000-0000-000000000000"
	if after != nil {
		afterAt, afterID = &after.CreatedAt, after.ID
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT `+surveyColumns+` FROM surveys s
		WHERE ($1::timestamptz IS NULL OR (s.created_at, s.id) < ($1, $2::uuid)) AND ($3 OR s.retired_at IS NULL)
		ORDER BY s.created_at DESC, s.id DESC LIMIT $4`, afterAt, afterID, includeRetired, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Survey, error) { return scanSurvey(row) })
}

// Draft implements app.Store.
func (s *Store) Draft(ctx context.Context, invitationID string) (domain.Answers, error) {
	var b []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT answers FROM response_drafts WHERE invitation_id = $1`, invitationID).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseAnswers(b)
}

// CreateSurvey implements app.Tx. ON CONFLICT makes a concurrent create with the same
// key wait for the first and then find it.
func (t *Tx) CreateSurvey(ctx context.Context, sv domain.Survey, v domain.SurveyVersion, key, hash string) (string, string, error) {
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO surveys (id, name, default_locale, published_version, created_at, idempotency_key, request_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (idempotency_key) DO NOTHING`,
		sv.ID, sv.Name, v.DefaultLocale, sv.PublishedVersion, sv.CreatedAt, key, hash)
	if err != nil {
		return "", "", err
	}
	if tag.RowsAffected() == 0 {
		var id, h string
		err := t.tx.QueryRow(ctx, `SELECT id::text, request_hash FROM surveys WHERE idempotency_key = $1`, key).Scan(&id, &h)
		return id, h, err
	}
	return "", "", t.insertVersion(ctx, v)
}

func (t *Tx) insertVersion(ctx context.Context, v domain.SurveyVersion) error {
	spec, err := json.Marshal(toSpecJSON(v))
	if err != nil {
		return err
	}
	var published *time.Time
	if !v.PublishedAt.IsZero() {
		published = &v.PublishedAt
	}
	_, err = t.tx.Exec(ctx, `
		INSERT INTO survey_versions (survey_id, version, status, spec, score_kind, created_at, published_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (survey_id, version) DO UPDATE
		SET spec = EXCLUDED.spec, score_kind = EXCLUDED.score_kind, created_at = EXCLUDED.created_at
		WHERE survey_versions.status = 'DRAFT'`,
		v.SurveyID, v.Version, v.Status, spec, string(v.ScoreKind), v.CreatedAt, published)
	return err
}

// LockSurvey implements app.Tx.
func (t *Tx) LockSurvey(ctx context.Context, id string) (domain.Survey, error) {
	return scanSurvey(t.tx.QueryRow(ctx, `SELECT `+surveyColumns+` FROM surveys s WHERE s.id = $1 FOR UPDATE`, id))
}

// VersionInTx implements app.Tx. A version that is no draft never changes but for its
// status, so it may come from the store's memory (a draft is always read).
func (t *Tx) VersionInTx(ctx context.Context, surveyID string, version int) (domain.SurveyVersion, error) {
	return cachedVersion(ctx, t.versions, t.tx, surveyID, version)
}

// PutDraft implements app.Tx.
func (t *Tx) PutDraft(ctx context.Context, v domain.SurveyVersion) error {
	return t.insertVersion(ctx, v)
}

// PublishVersion implements app.Tx.
func (t *Tx) PublishVersion(ctx context.Context, surveyID string, version int, at time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE survey_versions SET status = 'SUPERSEDED' WHERE survey_id = $1 AND status = 'PUBLISHED'`, surveyID)
	b.Queue(`UPDATE survey_versions SET status = 'PUBLISHED', published_at = $3 WHERE survey_id = $1 AND version = $2`, surveyID, version, at)
	b.Queue(`UPDATE surveys SET published_version = $2 WHERE id = $1`, surveyID, version)
	return t.tx.SendBatch(ctx, b).Close()
}

// RetireSurvey implements app.Tx.
func (t *Tx) RetireSurvey(ctx context.Context, id string, at time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE surveys SET retired_at = $2 WHERE id = $1`, id, at)
	return err
}

// SaveDraft implements app.Tx: the answers are merged by question id in one statement.
func (t *Tx) SaveDraft(ctx context.Context, invitationID string, a domain.Answers, at time.Time) error {
	b, err := answersJSON(a)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `
		INSERT INTO response_drafts (invitation_id, answers, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (invitation_id) DO UPDATE
		SET answers = response_drafts.answers || EXCLUDED.answers, updated_at = EXCLUDED.updated_at`,
		invitationID, b, at)
	return err
}

// DeleteDraft implements app.Tx.
func (t *Tx) DeleteDraft(ctx context.Context, invitationID string) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM response_drafts WHERE invitation_id = $1`, invitationID)
	return err
}

// MarkAnswered implements app.Tx.
func (t *Tx) MarkAnswered(ctx context.Context, invitationID string, at time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE invitations SET status = 'ANSWERED', updated_at = $2 WHERE id = $1`, invitationID, at)
	return err
}
