package domain

import (
	"cmp"
	"time"
)

// Rule routes responses to cases: when Condition (a CEL expression over the response)
// holds, a case of Kind for Team, due DueIn after the response was submitted.
type Rule struct {
	ID   int64
	Name string
	// Priority orders evaluation: lower first; the first rule that matches wins.
	Priority  int
	Condition string
	Kind      CaseKind
	Team      string
	DueIn     time.Duration
	Active    bool
	// Version changes whenever the rule does; compiled conditions are cached per version.
	Version int
}

// ComparePriority orders rules for evaluation: by priority, then by id so that rules of
// equal priority are always tried in the same order.
func ComparePriority(a, b Rule) int {
	return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
}
