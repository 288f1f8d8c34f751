package domain

import (
	"cmp"
	"time"
)

// Rule routes responses to cases: when Condition (a CEL expression over the response and
// its facts, see RoutingFacts) holds, a case of TaskType for Team, at Priority, with a
// first contact due FirstContactSLA and a resolution due ResolutionSLA after the response
// was submitted.
type Rule struct {
	ID   int64
	Name string
	// Order orders evaluation: lower first; the first enabled rule that matches wins.
	// (The database column and the API call it the rule's priority; Priority is the
	// priority of the case it opens.)
	Order     int
	Condition string
	// Kind is the case kind the task type implies (see TaskType.CaseKind).
	Kind     CaseKind
	Team     string
	TaskType TaskType
	Priority CasePriority
	// FirstContactSLA and ResolutionSLA are the targets of the case it opens.
	FirstContactSLA time.Duration
	ResolutionSLA   time.Duration
	Active          bool
	// Version changes whenever the rule's content (condition, result) does; compiled
	// conditions are cached per version, and a case names the version that opened it.
	Version int
}

// ComparePriority orders rules for evaluation: by order, then by id so that rules of
// equal order are always tried in the same order.
func ComparePriority(a, b Rule) int {
	return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.ID, b.ID))
}
