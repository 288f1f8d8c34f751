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
