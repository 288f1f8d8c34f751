package domain

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TaskType is the follow-up a routed response asks for.
type TaskType string

const (
	// TaskNone: the response is recorded, no case is opened ("routed to no case"). Only
	// the default route may be NONE.
	TaskNone            TaskType = "NONE"
	TaskCallBack        TaskType = "CALL_BACK"
	TaskReferralRequest TaskType = "REFERRAL_REQUEST"
	TaskProductFeedback TaskType = "PRODUCT_FEEDBACK"
	TaskRewardProblem   TaskType = "REWARD_PROBLEM"
	// TaskStoreFollowUp goes to the store's manager: the team set for the response's
	// store (SetStoreRegions' store_team), or else the rule's team.
	TaskStoreFollowUp TaskType = "STORE_FOLLOW_UP"
)

// Valid reports whether t is a task a case can carry (NONE is not).
func (t TaskType) Valid() bool {
	switch t {
	case TaskCallBack, TaskReferralRequest, TaskProductFeedback, TaskRewardProblem, TaskStoreFollowUp:
		return true
	}
	return false
}

// CaseKind is the kind of case the task opens: a referral request, or else a call-back
// (every other task is about contacting the customer), which decides the outcomes that
// may close it.
func (t TaskType) CaseKind() CaseKind {
	if t == TaskReferralRequest {
		return KindReferralRequest
	}
	return KindCallback
}

// CasePriority is how urgent a case is.
type CasePriority string

const (
	PriorityLow    CasePriority = "LOW"
	PriorityNormal CasePriority = "NORMAL"
	PriorityHigh   CasePriority = "HIGH"
	PriorityUrgent CasePriority = "URGENT"
)

// Rank orders priorities for a queue: LOW 1, NORMAL 2, HIGH 3, URGENT 4; 0 for none.
func (p CasePriority) Rank() int {
	switch p {
	case PriorityLow:
		return 1
	case PriorityNormal:
		return 2
	case PriorityHigh:
		return 3
	case PriorityUrgent:
		return 4
	}
	return 0
}

// Valid reports whether p is a known priority.
func (p CasePriority) Valid() bool {
	switch p {
	case PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent:
		return true
	}
	return false
}

// ErrInvalidRule marks a rule, route or store region that cannot be stored; errors
// wrapping it are *FieldError.
var ErrInvalidRule = errors.New("invalid routing rule")

// ErrRuleNotFound: no rule has the id.
var ErrRuleNotFound = errors.New("routing rule not found")

// ErrUnknownTeam: a rule, the default route or a store names a team that does not exist
// (errors wrapping it are *FieldError naming the field).
var ErrUnknownTeam = errors.New("unknown team")

// ErrRuleNameTaken: another rule has the name.
var ErrRuleNameTaken = errors.New("routing rule name taken")

// InvalidField returns a *FieldError (of ErrInvalidRule) naming the field.
func InvalidField(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrInvalidRule}
}

// MaxConditionLen bounds a condition's length.
const MaxConditionLen = 4000

// maxSLA bounds an SLA target: a year.
const maxSLA = 366 * 24 * time.Hour

// RuleSpec is what a writer says of a rule: its content and ordering.
type RuleSpec struct {
	Name            string
	Order           int
	Condition       string
	Team            string
	TaskType        TaskType
	Priority        CasePriority
	FirstContactSLA time.Duration
	ResolutionSLA   time.Duration
}

// Check validates the spec's fields (the condition's syntax is the engine's); errors
// are *FieldError naming spec.<field>.
func (s RuleSpec) Check() error {
	switch {
	case strings.TrimSpace(s.Name) == "" || len(s.Name) > 128:
		return InvalidField("spec.name", "1 to 128 characters")
	case strings.TrimSpace(s.Condition) == "":
		return InvalidField("spec.condition", "is empty")
	case len(s.Condition) > MaxConditionLen:
		return InvalidField("spec.condition", "at most %d characters", MaxConditionLen)
	case !ValidTeamKey(s.Team):
		return InvalidField("spec.team", "a team key: lower-case letters, digits and dashes")
	case !s.TaskType.Valid():
		return InvalidField("spec.task_type", "one of CALL_BACK, REFERRAL_REQUEST, PRODUCT_FEEDBACK, REWARD_PROBLEM, STORE_FOLLOW_UP")
	case !s.Priority.Valid():
		return InvalidField("spec.priority", "one of LOW, NORMAL, HIGH, URGENT")
	}
	return checkSLAs("spec.", s.FirstContactSLA, s.ResolutionSLA)
}

func checkSLAs(prefix string, first, resolution time.Duration) error {
	switch {
	case first < 0 || first > maxSLA:
		return InvalidField(prefix+"first_contact_sla", "0 (the service's default) or at most 366 days")
	case resolution <= 0 || resolution > maxSLA:
		return InvalidField(prefix+"resolution_sla", "more than 0 and at most 366 days")
	case first > resolution:
		return InvalidField(prefix+"first_contact_sla", "after the resolution_sla")
	}
	return nil
}

// Rule returns the rule the spec describes (its id and version are the store's).
func (s RuleSpec) Rule() Rule {
	return Rule{
		Name: s.Name, Order: s.Order, Condition: s.Condition, Team: s.Team,
		Kind: s.TaskType.CaseKind(), TaskType: s.TaskType, Priority: s.Priority,
		FirstContactSLA: s.FirstContactSLA, ResolutionSLA: s.ResolutionSLA, Active: true,
	}
}

// RuleVersion is one version of a rule's content, as it was.
type RuleVersion struct {
	Version         int
	Condition       string
	Team            string
	TaskType        TaskType
	Priority        CasePriority
	FirstContactSLA time.Duration
	ResolutionSLA   time.Duration
	CreatedAt       time.Time
}

// DefaultRoute is where a response no enabled rule matches goes: a task for a team, or
// TaskNone (recorded, no case).
type DefaultRoute struct {
	TaskType        TaskType
	Team            string
	Priority        CasePriority
	FirstContactSLA time.Duration
	ResolutionSLA   time.Duration
}

// Check validates a default route; errors are *FieldError naming the request's fields.
func (d DefaultRoute) Check() error {
	if d.TaskType == TaskNone {
		if d.Team != "" {
			return InvalidField("team", "must be empty for NONE")
		}
		return nil
	}
	switch {
	case !d.TaskType.Valid():
		return InvalidField("task_type", "NONE or a task type")
	case !ValidTeamKey(d.Team):
		return InvalidField("team", "a team key: lower-case letters, digits and dashes")
	case !d.Priority.Valid():
		return InvalidField("priority", "one of LOW, NORMAL, HIGH, URGENT")
	}
	return checkSLAs("", d.FirstContactSLA, d.ResolutionSLA)
}

// Rule returns the default route as a rule that opens its cases: id 0, version 0 (a case
// of the default route names rule 0).
func (d DefaultRoute) Rule() Rule {
	return Rule{
		Name: "default", Team: d.Team, Kind: d.TaskType.CaseKind(), TaskType: d.TaskType,
		Priority: d.Priority, FirstContactSLA: d.FirstContactSLA, ResolutionSLA: d.ResolutionSLA, Active: true,
	}
}

// StoreRegion places a store in a region and, optionally, names the team that follows up
// its STORE_FOLLOW_UP tasks.
type StoreRegion struct {
	StoreID   string
	Region    string
	StoreTeam string
}

// Check validates the i-th store region of a request.
func (s StoreRegion) Check(i int) error {
	field := fmt.Sprintf("regions[%d].", i)
	switch {
	case s.StoreID == "" || len(s.StoreID) > 256:
		return InvalidField(field+"store_id", "1 to 256 characters")
	case s.Region == "" || len(s.Region) > 64:
		return InvalidField(field+"region", "1 to 64 characters")
	case s.StoreTeam != "" && !ValidTeamKey(s.StoreTeam):
		return InvalidField(field+"store_team", "a team key or empty")
	}
	return nil
}

// RoutingFacts are what a condition sees of a response beyond the response itself.
type RoutingFacts struct {
	// Language is the language of the response's locale ("de" of "de-AT"), lower case.
	Language string
	// Tier is the member's tier as the ledger last announced it; "" when unknown.
	Tier string
	// Region is the region of the response's store; "" when the store has none.
	Region string
	// StoreTeam is the team that follows up the store's STORE_FOLLOW_UP tasks; "" for none.
	StoreTeam string
	// Topics are the comment's topics: always empty until topic tagging fills them.
	Topics []string
}

// LanguageOf returns the language of a BCP 47 locale: "de" of "de-AT" or "de_AT".
func LanguageOf(locale string) string {
	lang, _, _ := strings.Cut(strings.ReplaceAll(locale, "_", "-"), "-")
	return strings.ToLower(strings.TrimSpace(lang))
}

// Route is where a response goes: a rule's case, the default route's case, or no case.
type Route struct {
	// Rule is what opens the case: the matching rule, or the default route as a rule (ID 0).
	Rule Rule
	// Default reports that no enabled rule matched.
	Default bool
	// Team is the team of the case: the rule's, or for STORE_FOLLOW_UP the store's team.
	Team string
}

// NoCase reports that the response is recorded without a case.
func (r Route) NoCase() bool { return r.Rule.TaskType == TaskNone }

// Resolve returns the route of a matched rule (ok) or of the default route, for facts.
func Resolve(rule Rule, matched bool, def DefaultRoute, f RoutingFacts) Route {
	rt := Route{Rule: rule}
	if !matched {
		rt = Route{Rule: def.Rule(), Default: true}
	}
	rt.Team = rt.Rule.Team
	if rt.Rule.TaskType == TaskStoreFollowUp && f.StoreTeam != "" {
		rt.Team = f.StoreTeam
	}
	return rt
}

// RuleTrial is how one rule fared against a sample response (DryRun).
type RuleTrial struct {
	RuleID  int64
	Name    string
	Version int
	Matched bool
	// Error is why the condition failed to evaluate (counted as not matching); "" if it did not.
	Error string
}
