package domain

import "errors"

var (
	// ErrCaseNotFound: no case has the id.
	ErrCaseNotFound = errors.New("case not found")
	// ErrAlreadyResolved: the case was resolved before (perhaps a moment ago, by someone
	// else).
	ErrAlreadyResolved = errors.New("case already resolved")
	// ErrOutcomeNotAllowed: the outcome does not fit the case's kind.
	ErrOutcomeNotAllowed = errors.New("outcome not allowed for this kind of case")
	// ErrInvalidResponse: a submitted response that breaks the survey contract.
	ErrInvalidResponse = errors.New("invalid response")
)
