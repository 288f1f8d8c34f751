package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// Store keeps cases, routing rules and erasures, and runs the use cases that change them
// in transactions.
type Store interface {
	OrgStore
	HookStore
	LoopStore
	CustomerStore
	TimelineStore
	GoodwillStore
	// InTx runs fn in the transaction ctx carries (an event batch's, which also holds the
	// batch's inbox rows), or else in a new one that commits when fn returns nil and
	// rolls back otherwise.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Case returns domain.ErrCaseNotFound when no case has id.
	Case(ctx context.Context, id string) (domain.Case, error)
	// Cases returns the cases f selects, newest first.
	Cases(ctx context.Context, f CaseFilter) ([]domain.Case, error)
	// MemberData returns what is held about the member: the cases still theirs and when
	// they were erased. An unknown member has none of either.
	MemberData(ctx context.Context, memberID string) (domain.MemberData, error)
	// CountOverdue counts the cases open and past due at at.
	CountOverdue(ctx context.Context, at time.Time) (int64, error)
	LifecycleStore
	RoutingStore
}

// Tx is what a use case changes inside its transaction.
type Tx interface {
	OrgTx
	HookTx
	LoopTx
	CustomerTx
	GoodwillTx
	// ActiveRules returns the routing rules that are active now.
	ActiveRules(ctx context.Context) ([]domain.Rule, error)
	// ErasedMembers returns which of the members were erased. From this call until the
	// transaction ends no erasure commits (EraseMembers waits for it), so a case stored
	// in this transaction cannot slip past an erasure it did not see.
	ErasedMembers(ctx context.Context, memberIDs []string) (map[string]bool, error)
	// AddCases stores the cases whose response has none yet and returns those it
	// stored, as stored (times at the database's precision).
	AddCases(ctx context.Context, cases []domain.Case) ([]domain.Case, error)
	// Case returns domain.ErrCaseNotFound when no case has id.
	Case(ctx context.Context, id string) (domain.Case, error)
	// EraseMembers anonymises the members' cases (as domain.Case.Anonymise does) and
	// remembers the members as erased; it waits for transactions that may be storing
	// their cases (see ErasedMembers). It returns how many cases it changed.
	EraseMembers(ctx context.Context, memberIDs []string, at time.Time) (int, error)
	RoutingTx
	// Emit writes events to be published once the transaction commits.
	Emit(ctx context.Context, events ...domain.Event) error
	LifecycleTx
	TopicTx
}

// Cursor is where a page of cases, newest first, ends.
type Cursor struct {
	OpenedAt time.Time
	CaseID   string
}

// CaseFilter selects cases, newest first.
type CaseFilter struct {
	Team   string        // "" for every team
	Status domain.Status // "" for every status
	// Assignee, when set, keeps only the cases assigned to this staff id.
	Assignee string
	// Teams, when not nil, keeps only these teams' cases (an actor's scope).
	Teams []string
	// ByDue orders by the next deadline, earliest first, instead of newest first; the
	// cursor's OpenedAt is then that deadline.
	ByDue bool
	// OverdueAt, when set, keeps only the cases open and past due at that time.
	OverdueAt time.Time
	// After continues a listing after this case; nil for the first page.
	After *Cursor
	Limit int
}

// RuleCompiler turns rules into something that matches responses.
type RuleCompiler interface {
	Compile(rules []domain.Rule) RuleMatcher
	// Check reports why a condition cannot be used: a *domain.FieldError naming
	// spec.condition with the line and column, or nil.
	Check(condition string) error
}

// RuleMatcher returns the first enabled rule, by order, that matches a response.
type RuleMatcher interface {
	Match(r domain.Response, f domain.RoutingFacts) (domain.Rule, bool)
	// Explain says how each rule fared, in order, up to the one that matched.
	Explain(r domain.Response, f domain.RoutingFacts) []domain.RuleTrial
}
