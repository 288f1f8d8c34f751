package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// DefinitionStore reads survey definitions and saved answers.
type DefinitionStore interface {
	// SurveyVersion returns one version of a survey, or domain.ErrVersionNotFound.
	SurveyVersion(ctx context.Context, surveyID string, version int) (domain.SurveyVersion, error)
	// PublishedVersion returns the version new invitations to a survey are made to:
	// domain.ErrSurveyNotFound, domain.ErrSurveyRetired or domain.ErrNoPublishedVersion
	// when there is none to make.
	PublishedVersion(ctx context.Context, surveyID string) (int, error)
	// Survey returns a survey, or domain.ErrSurveyNotFound.
	Survey(ctx context.Context, id string) (domain.Survey, error)
	// ListSurveys returns up to limit surveys, newest first, after the cursor when there
	// is one.
	ListSurveys(ctx context.Context, after *Cursor, limit int, includeRetired bool) ([]domain.Survey, error)
	// Draft returns the answers saved for an invitation; none: nil.
	Draft(ctx context.Context, invitationID string) (domain.Answers, error)
}

// DefinitionTx changes survey definitions and answers in a transaction.
type DefinitionTx interface {
	// CreateSurvey stores a survey and its first version, unless a survey was created
	// with the same idempotency key: then it stores nothing and returns that survey's id
	// and request hash.
	CreateSurvey(ctx context.Context, s domain.Survey, v domain.SurveyVersion, key, hash string) (existingID, existingHash string, err error)
	// LockSurvey returns a survey, locked until the transaction ends, or
	// domain.ErrSurveyNotFound.
	LockSurvey(ctx context.Context, id string) (domain.Survey, error)
	// VersionInTx returns one version of a survey as the transaction sees it, or
	// domain.ErrVersionNotFound.
	VersionInTx(ctx context.Context, surveyID string, version int) (domain.SurveyVersion, error)
	// PutDraft stores a draft version, replacing the survey's draft of that number.
	PutDraft(ctx context.Context, v domain.SurveyVersion) error
	// PublishVersion publishes a version at at: the survey's published version before
	// it is superseded.
	PublishVersion(ctx context.Context, surveyID string, version int, at time.Time) error
	// RetireSurvey marks a survey retired at at.
	RetireSurvey(ctx context.Context, id string, at time.Time) error
	// SaveDraft merges answers over those saved for an invitation.
	SaveDraft(ctx context.Context, invitationID string, a domain.Answers, at time.Time) error
	// DeleteDraft deletes the answers saved for an invitation.
	DeleteDraft(ctx context.Context, invitationID string) error
	// MarkAnswered sets an invitation's status to ANSWERED.
	MarkAnswered(ctx context.Context, invitationID string, at time.Time) error
}

// DefinitionCommands manage survey definitions and answers on the way.
type DefinitionCommands struct {
	CreateSurvey   *CreateSurvey
	CreateVersion  *CreateVersion
	PublishVersion *PublishVersion
	RetireSurvey   *RetireSurvey
	SaveDraft      *SaveDraft
}

// DefinitionQueries read survey definitions.
type DefinitionQueries struct {
	GetSurvey   *GetSurvey
	ListSurveys *ListSurveys
}

func newDefinitions(d Deps) (DefinitionCommands, DefinitionQueries) {
	return DefinitionCommands{
			CreateSurvey:   &CreateSurvey{store: d.Store, now: d.Now},
			CreateVersion:  &CreateVersion{store: d.Store, now: d.Now},
			PublishVersion: &PublishVersion{store: d.Store, now: d.Now},
			RetireSurvey:   &RetireSurvey{store: d.Store, now: d.Now},
			SaveDraft:      &SaveDraft{store: d.Store, links: d.Links, now: d.Now},
		}, DefinitionQueries{
			GetSurvey:   &GetSurvey{store: d.Store},
			ListSurveys: &ListSurveys{store: d.Store},
		}
}

// SurveySpec is what a marketer writes for a version: its texts and questions.
type SurveySpec struct {
	DefaultLocale   string
	Texts           map[string]domain.SurveyText
	Questions       []domain.Question
	ScoreQuestionID string
}

// version returns the spec as version n of survey s, checked.
func (s SurveySpec) version(sv domain.Survey, n int, now time.Time) (domain.SurveyVersion, error) {
	v := domain.SurveyVersion{
		SurveyID: sv.ID, Name: sv.Name, Version: n, Status: domain.VersionDraft,
		DefaultLocale: s.DefaultLocale, Texts: s.Texts, Questions: s.Questions, ScoreQuestionID: s.ScoreQuestionID,
		CreatedAt: now,
	}
	if err := v.Validate(); err != nil {
		return domain.SurveyVersion{}, err
	}
	v.ScoreKind = domain.ScoreKind(v.ScoreQuestion().Kind)
	return v, nil
}
