package app

import (
	"time"

	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// RoutingFacts reads what a condition sees of a response beyond the response: the
// member's tier and the store's region (both on Store and on Tx).
type RoutingFacts interface {
	// MemberTiers returns the tiers of the members the feedback service knows.
	MemberTiers(ctx context.Context, memberIDs []string) (map[string]string, error)
	// StoreRegions returns the regions of the stores that have one.
	StoreRegions(ctx context.Context, storeIDs []string) (map[string]domain.StoreRegion, error)
	// DefaultRoute returns where responses no rule matches go.
	DefaultRoute(ctx context.Context) (domain.DefaultRoute, error)
}

// RoutingStore reads routing rules.
type RoutingStore interface {
	RoutingFacts
	// Rules returns every rule, enabled or not, in evaluation order.
	Rules(ctx context.Context) ([]domain.Rule, error)
	// Rule returns the rule and its versions, oldest first; domain.ErrRuleNotFound.
	Rule(ctx context.Context, id int64) (domain.Rule, []domain.RuleVersion, error)
}

// RoutingTx changes routing rules, members and routes inside a transaction.
type RoutingTx interface {
	RoutingFacts
	// CreateRule stores a new rule (version 1). With an idempotency key already used it
	// returns the rule that key created and created=false. domain.ErrRuleNameTaken.
	CreateRule(ctx context.Context, r domain.Rule, idempotencyKey string) (rule domain.Rule, created bool, err error)
	// UpdateRule replaces the rule's content and order; a new version when the content
	// changed. domain.ErrRuleNotFound, domain.ErrRuleNameTaken.
	UpdateRule(ctx context.Context, id int64, r domain.Rule) (domain.Rule, error)
	// ReorderRules sets the order of each rule; domain.ErrRuleNotFound if one is unknown.
	ReorderRules(ctx context.Context, orders map[int64]int) error
	// SetRuleEnabled enables or disables a rule; domain.ErrRuleNotFound.
	SetRuleEnabled(ctx context.Context, id int64, enabled bool) (domain.Rule, error)
	// SetStoreRegions stores the regions (replacing a store's earlier one).
	SetStoreRegions(ctx context.Context, regions []domain.StoreRegion) error
	// SetDefaultRoute replaces the default route.
	SetDefaultRoute(ctx context.Context, d domain.DefaultRoute) error
	// UnknownTeams returns those of the keys no team has.
	UnknownTeams(ctx context.Context, keys []string) ([]string, error)
	// RecordRoutes remembers where each response went (once per response) and returns
	// the ids of the responses routed for the first time.
	RecordRoutes(ctx context.Context, routes []RoutedResponse) (firstTime []string, err error)
	// UpsertMembers keeps the members' tier and locale, each row only if newer than the
	// one kept; erased members are not kept.
	UpsertMembers(ctx context.Context, members []MemberFacts) error
}

// RoutedResponse is where one response went.
type RoutedResponse struct {
	ResponseID string
	Route      domain.Route
}

// MemberFacts is what the ledger announces of a member that routing uses. An empty Tier
// or Locale keeps the one kept.
type MemberFacts struct {
	MemberID  string
	Tier      string
	Locale    string
	UpdatedAt time.Time
	// DisplayName, Email and Phone: an empty one keeps the one kept (customer.go).
	DisplayName, Email, Phone string
}

// RoutingCommands change routing rules.
type RoutingCommands struct {
	CreateRule      CreateRule
	UpdateRule      UpdateRule
	ReorderRules    ReorderRules
	SetRuleEnabled  SetRuleEnabled
	SetStoreRegions SetStoreRegions
	SetDefaultRoute SetDefaultRoute
	SyncMembers     SyncMembers
}

// RoutingQueries read them.
type RoutingQueries struct {
	ListRules ListRules
	GetRule   GetRule
	DryRun    DryRun
}

func newRouting(d Deps) (RoutingCommands, RoutingQueries) {
	return RoutingCommands{
			CreateRule:      CreateRule{store: d.Store, rules: d.Rules},
			UpdateRule:      UpdateRule{store: d.Store, rules: d.Rules},
			ReorderRules:    ReorderRules{store: d.Store},
			SetRuleEnabled:  SetRuleEnabled{store: d.Store},
			SetStoreRegions: SetStoreRegions{store: d.Store},
			SetDefaultRoute: SetDefaultRoute{store: d.Store},
			SyncMembers:     SyncMembers{store: d.Store},
		}, RoutingQueries{
			ListRules: ListRules{store: d.Store},
			GetRule:   GetRule{store: d.Store},
			DryRun:    DryRun{store: d.Store, rules: d.Rules, stemmer: d.Stemmer},
		}
}

// factsFor looks up the facts of responses: language from the locale, tier by member,
// region and store team by store.
func factsFor(ctx context.Context, f RoutingFacts, responses []domain.Response) ([]domain.RoutingFacts, error) {
	members, stores := make([]string, 0, len(responses)), make([]string, 0, len(responses))
	for _, r := range responses {
		if r.MemberID != "" {
			members = append(members, r.MemberID)
		}
		if r.StoreID != "" {
			stores = append(stores, r.StoreID)
		}
	}
	tiers, regions := map[string]string{}, map[string]domain.StoreRegion{}
	var err error
	if len(members) > 0 {
		if tiers, err = f.MemberTiers(ctx, members); err != nil {
			return nil, err
		}
	}
	if len(stores) > 0 {
		if regions, err = f.StoreRegions(ctx, stores); err != nil {
			return nil, err
		}
	}
	out := make([]domain.RoutingFacts, len(responses))
	for i, r := range responses {
		reg := regions[r.StoreID]
		out[i] = domain.RoutingFacts{
			Language: domain.LanguageOf(r.Locale), Tier: tiers[r.MemberID],
			Region: reg.Region, StoreTeam: reg.StoreTeam, Topics: []string{},
		}
	}
	return out, nil
}

// checkTeam returns a *domain.FieldError of domain.ErrUnknownTeam naming field when no
// team has key.
func checkTeam(ctx context.Context, tx Tx, field, key string) error {
	if key == "" {
		return nil
	}
	unknown, err := tx.UnknownTeams(ctx, []string{key})
	if err != nil {
		return err
	}
	if len(unknown) > 0 {
		return &domain.FieldError{Field: field, Reason: "no team has the key " + key, Err: domain.ErrUnknownTeam}
	}
	return nil
}
