package domain

import (
	"fmt"
	"time"
)

// NPSClass is the class of a 0-10 "how likely are you to recommend us" answer.
type NPSClass string

const (
	NPSDetractor NPSClass = "DETRACTOR" // 0-6
	NPSPassive   NPSClass = "PASSIVE"   // 7-8
	NPSPromoter  NPSClass = "PROMOTER"  // 9-10
)

// ClassifyNPS returns the class of an NPS score (0-10).
func ClassifyNPS(score int) NPSClass {
	switch {
	case score <= 6:
		return NPSDetractor
	case score <= 8:
		return NPSPassive
	default:
		return NPSPromoter
	}
}

// ScoreKind is the kind of the question whose answer is a response's score.
type ScoreKind string

const (
	ScoreNPS  ScoreKind = "NPS"  // 0-10, classed detractor, passive, promoter
	ScoreCSAT ScoreKind = "CSAT" // 1-5, satisfied 4-5
	ScoreCES  ScoreKind = "CES"  // 1-7, low effort 5-7
)

// Response is a submitted survey response: what routing rules see.
type Response struct {
	ResponseID string
	SurveyID   string
	MemberID   string
	// Touchpoint is the moment of contact: PURCHASE, SERVICE_CALL, SALES_CALL, WEB_VISIT,
	// or "" when the survey named none.
	Touchpoint  string
	StoreID     string
	Score       int
	Comment     string
	NPSClass    NPSClass
	SubmittedAt time.Time
	// ScoreKind is the kind of Score; "" (a response from before it was kept) is NPS.
	ScoreKind ScoreKind
	// CSATSatisfied (a CSAT of 4-5) and CESLowEffort (a CES of 5-7), filled from the score.
	CSATSatisfied bool
	CESLowEffort  bool
	// EmployeeID is who the response is attributed to, Channel where the contact was
	// (STORE, WEB or ""), TouchpointKey the touchpoint's reference (pos:<store>:<tx>).
	EmployeeID    string
	Channel       string
	TouchpointKey string
	// Locale is the locale the response was given in (BCP 47, "" when unknown).
	Locale string
	// Solved is the answer to a "solved" choice question (the follow-up survey's "Is your
	// problem solved?"): "yes", "no" or "".
	Solved string
}

// Normalize checks r against the survey contract and fills what follows from its score:
// the kind (NPS when unspecified), the NPS class, CSAT's satisfied and CES's low effort.
// A score outside its kind's scale, or a class or flag that contradicts it, is an error
// wrapping ErrInvalidResponse.
func (r *Response) Normalize() error {
	if r.ResponseID == "" {
		return fmt.Errorf("%w: response_id is empty", ErrInvalidResponse)
	}
	if r.SubmittedAt.IsZero() {
		return fmt.Errorf("%w: submitted_at is missing", ErrInvalidResponse)
	}
	if r.ScoreKind == "" {
		r.ScoreKind = ScoreNPS
	}
	if r.ScoreKind != ScoreNPS && r.NPSClass != "" {
		return fmt.Errorf("%w: a %s response has nps_class %s", ErrInvalidResponse, r.ScoreKind, r.NPSClass)
	}
	if r.ScoreKind != ScoreCSAT && r.CSATSatisfied {
		return fmt.Errorf("%w: a %s response says csat_satisfied", ErrInvalidResponse, r.ScoreKind)
	}
	if r.ScoreKind != ScoreCES && r.CESLowEffort {
		return fmt.Errorf("%w: a %s response says ces_low_effort", ErrInvalidResponse, r.ScoreKind)
	}
	switch r.ScoreKind {
	case ScoreNPS:
		if r.Score < 0 || r.Score > 10 {
			return fmt.Errorf("%w: score %d is outside 0-10", ErrInvalidResponse, r.Score)
		}
		class := ClassifyNPS(r.Score)
		switch {
		case r.NPSClass == "":
			r.NPSClass = class
		case r.NPSClass != class:
			return fmt.Errorf("%w: nps_class %s does not match score %d (%s)", ErrInvalidResponse, r.NPSClass, r.Score, class)
		}
	case ScoreCSAT:
		if r.Score < 1 || r.Score > 5 {
			return fmt.Errorf("%w: CSAT score %d is outside 1-5", ErrInvalidResponse, r.Score)
		}
		if r.CSATSatisfied && r.Score < 4 {
			return fmt.Errorf("%w: csat_satisfied does not match score %d", ErrInvalidResponse, r.Score)
		}
		r.CSATSatisfied = r.Score >= 4
	case ScoreCES:
		if r.Score < 1 || r.Score > 7 {
			return fmt.Errorf("%w: CES score %d is outside 1-7", ErrInvalidResponse, r.Score)
		}
		if r.CESLowEffort && r.Score < 5 {
			return fmt.Errorf("%w: ces_low_effort does not match score %d", ErrInvalidResponse, r.Score)
		}
		r.CESLowEffort = r.Score >= 5
	default:
		return fmt.Errorf("%w: unknown score kind %q", ErrInvalidResponse, r.ScoreKind)
	}
	return nil
}
