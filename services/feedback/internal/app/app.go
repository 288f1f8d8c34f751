// Package app holds the feedback service's use cases. It depends only on the interfaces
// declared here; adapters implement them.
package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// Application gathers the use cases.
type Application struct {
	RouteResponses RouteResponses
	EraseMembers   EraseMembers
	ListCases      ListCases
	GetCase        GetCase
	ResolveCase    ResolveCase
}

// Deps are what the use cases need.
type Deps struct {
	Cases  CaseRepository
	Router RuleCompiler
	Clock  func() time.Time
	NewID  func() string
	Log    *slog.Logger
}

// New wires the use cases; every dependency is required.
func New(d Deps) (*Application, error) {
	if d.Cases == nil || d.Router == nil || d.Clock == nil || d.NewID == nil || d.Log == nil {
		return nil, errors.New("app: every dependency is required")
	}
	return &Application{
		RouteResponses: RouteResponses{router: d.Router, clock: d.Clock, newID: d.NewID, log: d.Log},
		EraseMembers:   EraseMembers{clock: d.Clock},
		ListCases:      ListCases{cases: d.Cases, clock: d.Clock},
		GetCase:        GetCase{cases: d.Cases, clock: d.Clock},
		ResolveCase:    ResolveCase{cases: d.Cases, clock: d.Clock},
	}, nil
}

// EventStore is what an event handler changes, inside the transaction of the batch of
// events it handles (and that records them in the inbox).
type EventStore interface {
	// ActiveRules returns the routing rules that are active now.
	ActiveRules(ctx context.Context) ([]domain.Rule, error)
	// OpenCases stores the cases whose response has none yet, announces each stored one
	// (feedback.case.opened) and returns how many were stored. The case of a member
	// already erased is stored without personal data.
	OpenCases(ctx context.Context, cases []domain.Case) (int, error)
	// EraseMembers anonymises the members' cases and remembers the members as erased.
	EraseMembers(ctx context.Context, memberIDs []string, at time.Time) (int, error)
}

// CaseRepository reads and changes cases for the gRPC API.
type CaseRepository interface {
	// Case returns domain.ErrCaseNotFound when there is no case with id.
	Case(ctx context.Context, id string) (domain.Case, error)
	List(ctx context.Context, f CaseFilter) ([]domain.Case, error)
	// Resolve loads the case, lets resolve change it, and stores it, with its
	// feedback.case.resolved event, only if it is still open then; otherwise it returns
	// domain.ErrAlreadyResolved. domain.ErrCaseNotFound when there is no case with id.
	Resolve(ctx context.Context, id string, resolve func(*domain.Case) error) (domain.Case, error)
}

// RuleCompiler turns rules into something that matches responses.
type RuleCompiler interface {
	Compile(rules []domain.Rule) RuleMatcher
}

// RuleMatcher returns the first rule, by priority, that matches a response.
type RuleMatcher interface {
	Match(r domain.Response) (domain.Rule, bool)
}
