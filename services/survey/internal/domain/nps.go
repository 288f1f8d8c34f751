// Package domain holds the survey rules: NPS classes, signed survey links, the contact
// policy and the choice of a survey's language. Pure Go, no I/O.
package domain

import "fmt"

// NPSClass is the class of a 0-10 "how likely are you to recommend us" answer.
type NPSClass string

const (
	Detractor NPSClass = "DETRACTOR" // 0-6
	Passive   NPSClass = "PASSIVE"   // 7-8
	Promoter  NPSClass = "PROMOTER"  // 9-10
)

// MinScore and MaxScore bound an NPS answer.
const (
	MinScore = 0
	MaxScore = 10
)

// ClassifyNPS returns the NPS class of score, or ErrScoreOutOfRange.
func ClassifyNPS(score int) (NPSClass, error) {
	switch {
	case score < MinScore || score > MaxScore:
		return "", fmt.Errorf("%w: %d", ErrScoreOutOfRange, score)
	case score >= 9:
		return Promoter, nil
	case score >= 7:
		return Passive, nil
	default:
		return Detractor, nil
	}
}
