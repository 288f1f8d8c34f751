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
}

// Normalize checks r against the survey contract and fills its NPS class from the score
// when the producer left it out. The error wraps ErrInvalidResponse.
func (r *Response) Normalize() error {
	if r.ResponseID == "" {
		return fmt.Errorf("%w: response_id is empty", ErrInvalidResponse)
	}
	if r.Score < 0 || r.Score > 10 {
		return fmt.Errorf("%w: score %d is outside 0-10", ErrInvalidResponse, r.Score)
	}
	if r.SubmittedAt.IsZero() {
		return fmt.Errorf("%w: submitted_at is missing", ErrInvalidResponse)
	}
	class := ClassifyNPS(r.Score)
	switch {
	case r.NPSClass == "":
		r.NPSClass = class
	case r.NPSClass != class:
		return fmt.Errorf("%w: nps_class %s does not match score %d (%s)", ErrInvalidResponse, r.NPSClass, r.Score, class)
	}
	return nil
}
