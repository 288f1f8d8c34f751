// Package app holds the feedback service's use cases. It depends only on the interfaces
// declared in ports.go; adapters implement them.
package app

import (
	"errors"
	"log/slog"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// Application gathers the use cases.
type Application struct {
	Commands Commands
	Queries  Queries
}

// Commands change state.
type Commands struct {
	RouteResponses RouteResponses
	ResolveCase    ResolveCase
	EraseMembers   EraseMembers
	Hooks          HookCommands // set by the service (NewHooks)
	LifecycleCommands
	RoutingCommands
	OrgCommands
	Loop LoopCommands
	TopicCommands
}

// LoopCommands keep what the closed loop needs from other services.
type LoopCommands struct {
	KeepReferralCodes   KeepReferralCodes
	ForgetReferralCodes ForgetReferralCodes
	KeepMemberEvents    KeepMemberEvents
}

// Queries read it.
type Queries struct {
	ListCases    ListCases
	GetCase      GetCase
	ExportMember ExportMember
	CountOverdue CountOverdue
	// GetCustomerTimeline is the member's timeline (get_customer_timeline.go).
	GetCustomerTimeline GetCustomerTimeline
	// GoodwillRewards lists the rewards that may be granted as goodwill.
	GoodwillRewards GoodwillRewards
	RoutingQueries
	OrgQueries
	Hooks HookQueries // set by the service (NewHooks)
	TopicQueries
}

// Deps are what the use cases need.
type Deps struct {
	Store Store
	Rules RuleCompiler
	Clock func() time.Time
	NewID func() string
	Log   *slog.Logger
	// Lifecycle is what the case lifecycle needs (teams, assignment, notifications, SLA).
	Lifecycle LifecycleDeps
	// GoodwillLimits are the most goodwill points each role may grant on a case; nil
	// grants none.
	GoodwillLimits map[string]int64
	// GoodwillRewardRoles may grant a coupon reward as goodwill.
	GoodwillRewardRoles []string
	// Rewards is the rewards service; nil: goodwill rewards are off.
	Rewards Rewards
	// Stemmer stems the words of comments and keywords for topic tagging; nil tags none.
	Stemmer domain.Stemmer
}

// New wires the use cases; every dependency is required.
func New(d Deps) (*Application, error) {
	if d.Store == nil || d.Rules == nil || d.Clock == nil || d.NewID == nil || d.Log == nil {
		return nil, errors.New("app: every dependency is required")
	}
	routingCommands, routingQueries := newRouting(d)
	org, orgQueries := newOrg(d)
	topicCommands, topicQueries := newTopics(d)
	return &Application{
		Commands: Commands{
			RouteResponses: RouteResponses{store: d.Store, rules: d.Rules, clock: d.Clock, newID: d.NewID, log: d.Log, stemmer: d.Stemmer, life: lifecycle{store: d.Store, clock: d.Clock, deps: d.Lifecycle, log: d.Log}},
			ResolveCase: ResolveCase{store: d.Store, clock: d.Clock, rewards: d.Rewards != nil,
				policy: domain.GoodwillPolicy{Limits: d.GoodwillLimits, RewardRoles: d.GoodwillRewardRoles}, life: lifecycle{store: d.Store, clock: d.Clock, deps: d.Lifecycle, log: d.Log}},
			LifecycleCommands: newLifecycle(d),
			EraseMembers:      EraseMembers{store: d.Store, clock: d.Clock},
			RoutingCommands:   routingCommands,
			OrgCommands:       org,
			Loop:              LoopCommands{KeepReferralCodes{d.Store}, ForgetReferralCodes{d.Store}, KeepMemberEvents{d.Store}},
			TopicCommands:     topicCommands,
		},
		Queries: Queries{
			ListCases:           ListCases{store: d.Store, clock: d.Clock},
			GetCase:             GetCase{store: d.Store, clock: d.Clock},
			ExportMember:        ExportMember{store: d.Store},
			CountOverdue:        CountOverdue{store: d.Store, clock: d.Clock},
			GetCustomerTimeline: GetCustomerTimeline{store: d.Store},
			GoodwillRewards:     GoodwillRewards{rewards: d.Rewards},
			RoutingQueries:      routingQueries,
			OrgQueries:          orgQueries,
			TopicQueries:        topicQueries,
		},
	}, nil
}
