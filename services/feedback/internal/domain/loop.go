package domain

import (
	"strings"
	"time"
)

// FollowUpKeyPrefix starts the touchpoint key of the follow-up survey a resolved case
// triggers ("case:<case id>"): a response under such a key answers that case.
const FollowUpKeyPrefix = "case:"

// FollowUpCaseID returns the case a response answers when its touchpoint key names one.
func FollowUpCaseID(touchpointKey string) (string, bool) {
	id, ok := strings.CutPrefix(touchpointKey, FollowUpKeyPrefix)
	if !ok || !isUUID(id) {
		return "", false
	}
	return strings.ToLower(id), true
}

// isUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// Solved answers of the follow-up survey's "Is your problem solved?" (question "solved").
const (
	SolvedYes = "yes"
	SolvedNo  = "no"
)

// FollowUp is the customer's answer to the survey sent when their case was resolved
// ("Did we solve your problem?"), linked to the case instead of opening one.
type FollowUp struct {
	CaseID     string
	ResponseID string
	MemberID   string
	Score      int
	ScoreKind  ScoreKind
	// Satisfied: the score counts as satisfied (CSAT 4-5, NPS 9-10, CES low effort).
	Satisfied bool
	// Solved is the answer to "Is your problem solved?": SolvedYes, SolvedNo or "".
	Solved     string
	Comment    string
	ReceivedAt time.Time
}

// FollowUpOf is the follow-up r gives to case caseID.
func FollowUpOf(caseID string, r Response) FollowUp {
	satisfied := false
	switch r.ScoreKind {
	case ScoreCSAT:
		satisfied = r.CSATSatisfied
	case ScoreCES:
		satisfied = r.CESLowEffort
	default:
		satisfied = r.NPSClass == NPSPromoter
	}
	solved := r.Solved
	if solved != SolvedYes && solved != SolvedNo {
		solved = ""
	}
	return FollowUp{CaseID: caseID, ResponseID: r.ResponseID, MemberID: r.MemberID, Score: r.Score, ScoreKind: r.ScoreKind,
		Satisfied: satisfied, Solved: solved, Comment: r.Comment, ReceivedAt: r.SubmittedAt}
}

// Unsolved reports whether the customer says the problem is not solved: "no" to "Is
// your problem solved?", or, on a follow-up survey without that question, a score that
// would have opened a call-back (NPS 0-6, CSAT 1-2, CES 1-3).
func (f FollowUp) Unsolved() bool {
	switch f.Solved {
	case SolvedNo:
		return true
	case SolvedYes:
		return false
	}
	switch f.ScoreKind {
	case ScoreCSAT:
		return f.Score <= 2
	case ScoreCES:
		return f.Score <= 3
	}
	return f.Score <= 6
}

// ReopenedBy names the customer as who reopened a case by answering its follow-up
// survey "not solved".
const ReopenedBy = "customer"

// ReferralCode is a member's referral code as the ledger issued it.
type ReferralCode struct {
	MemberID string
	Code     string
}

// FollowUpReceived: the customer answered the follow-up survey of a case.
type FollowUpReceived struct{ FollowUp FollowUp }

func (FollowUpReceived) isEvent() {}
