package domain

import "errors"

// Errors the survey rules report; ports map them to gRPC statuses and HTTP pages.
var (
	ErrScoreOutOfRange    = errors.New("score out of range 0-10")
	ErrCommentTooLong     = errors.New("comment too long")
	ErrTokenInvalid       = errors.New("survey link token is invalid")
	ErrLinkExpired        = errors.New("survey link has expired")
	ErrInvitationNotFound = errors.New("invitation not found")
	ErrAlreadyAnswered    = errors.New("invitation already answered")
)

// Errors of survey definitions and answers.
var (
	ErrInvalidDefinition = errors.New("invalid survey definition")
	ErrInvalidAnswer     = errors.New("invalid answer")
	ErrAnswerRequired    = errors.New("answer required")
	ErrSurveyNotFound    = errors.New("survey not found")
	ErrVersionNotFound   = errors.New("survey version not found")
	// ErrNotDraft: only a draft version can be published.
	ErrNotDraft = errors.New("survey version is not a draft")
	// ErrSurveyRetired: a retired survey takes no new version, publication or invitation.
	ErrSurveyRetired = errors.New("survey is retired")
	// ErrNoPublishedVersion: the survey has no published version to invite to.
	ErrNoPublishedVersion = errors.New("survey has no published version")
	// ErrIdempotencyKeyReused: a create retried with the same key but other content.
	ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")
	// ErrNotYetDue: the invitation is scheduled and its link does not work yet.
	ErrNotYetDue = errors.New("survey link is not open yet")
)

// Names the page and other areas use for the same errors.
var (
	ErrInvalidToken      = ErrTokenInvalid
	ErrInvitationExpired = ErrLinkExpired
)
