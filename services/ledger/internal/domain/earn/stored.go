package earn

import (
	"errors"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// RuleState is a rule's life: a draft is stored but never evaluated on real purchases;
// active rules are; inactive ones are kept for the record.
type RuleState string

const (
	StateDraft    RuleState = "draft"
	StateActive   RuleState = "active"
	StateInactive RuleState = "inactive"
)

// StoredRule is a rule as the programme keeps it: its state and one of its versions.
type StoredRule struct {
	State     RuleState
	Current   int // the rule's current version
	Version   RuleVersion
	CreatedAt time.Time // of the version
	CreatedBy string
}

// Errors of rule and campaign management.
var (
	ErrRuleNotFound     = errors.New("rule not found")
	ErrCampaignNotFound = errors.New("campaign not found")
	ErrVersionConflict  = errors.New("the rule was changed meanwhile: its current version is not the expected one")
	ErrNoBreakdown      = errors.New("no breakdown is recorded for this transaction")
)

// CreditPart is a Part as stored with its credit.
type CreditPart struct {
	TransactionID string
	Reference     string
	Part
}

// Breakdown is what a purchase's credit was made of: its lines and its parts.
type Breakdown struct {
	Lines []domain.Line
	Parts []CreditPart
}

// CustomEvent is something a member did that may earn points by rules triggered by its
// type (an app installed, a review written, a birthday, a profile completed).
type CustomEvent struct {
	EventID    string
	Source     string
	MemberRef  string
	Type       string
	Attributes map[string]string
	OccurredAt time.Time
}

// Reference is how the credit of a custom event names it.
func (e CustomEvent) Reference() string { return "custom:" + e.Source + "/" + e.EventID }
