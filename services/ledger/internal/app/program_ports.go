package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

// EarnTx is what earning rules and campaigns need inside a transaction.
type EarnTx interface {
	// EarningEpoch is a number every change of rules and campaigns moves (BumpEarningEpoch).
	EarningEpoch(ctx context.Context) (int64, error)
	BumpEarningEpoch(ctx context.Context) error
	// LiveRuleVersions returns the current versions of the active rules.
	LiveRuleVersions(ctx context.Context) ([]earn.RuleVersion, error)
	// RuleVersionsLiveAt returns the versions of rules that were live at t.
	RuleVersionsLiveAt(ctx context.Context, t time.Time) ([]earn.RuleVersion, error)

	InsertRule(ctx context.Context, r earn.StoredRule) error
	// LockRule returns the rule with its current version, locked; earn.ErrRuleNotFound.
	LockRule(ctx context.Context, id string) (earn.StoredRule, error)
	// InsertRuleVersion adds a version and makes it the rule's current one, with state.
	InsertRuleVersion(ctx context.Context, r earn.StoredRule) error
	// SetRuleState stores a rule's state.
	SetRuleState(ctx context.Context, id string, state earn.RuleState, at time.Time) error
	// SetLivePeriod closes the rule's open live period at at, and opens one for version
	// when version > 0.
	SetLivePeriod(ctx context.Context, id string, version int, at time.Time) error

	InsertCampaign(ctx context.Context, c earn.Campaign, at time.Time) error
	// LockCampaign returns the campaign, locked; earn.ErrCampaignNotFound.
	LockCampaign(ctx context.Context, id string) (earn.Campaign, error)
	SaveCampaign(ctx context.Context, c earn.Campaign, at time.Time) error
	// LockCampaigns returns the campaigns among ids, locked in id order (so that
	// concurrent batches cannot deadlock), by id.
	LockCampaigns(ctx context.Context, ids []string) (map[string]earn.Campaign, error)
	// Campaigns returns the campaigns among ids, by id, unlocked.
	Campaigns(ctx context.Context, ids []string) (map[string]earn.Campaign, error)
	// SpendBudgets adds spent points to campaigns, never beyond a budget (the
	// transaction fails instead), and returns those it exhausted at at, for the first time.
	SpendBudgets(ctx context.Context, spent map[string]int64, at time.Time) (exhausted []string, err error)

	// MemberProfiles returns what rules may know of members, by id.
	MemberProfiles(ctx context.Context, ids []string) (map[string]earn.Profile, error)
	// Usage reads counters (absent ones are 0); AddUsage adds increments to them.
	Usage(ctx context.Context, keys []earn.UsageKey) (earn.Usage, error)
	AddUsage(ctx context.Context, inc earn.Usage) error
	// InsertCreditParts stores the breakdown of credits.
	InsertCreditParts(ctx context.Context, parts []earn.CreditPart) error
	// Breakdowns returns the lines and the stored credit breakdown of purchases, by key
	// (absent: the purchase is unknown or earned nothing).
	Breakdowns(ctx context.Context, keys []domain.PurchaseKey) (map[domain.PurchaseKey]earn.Breakdown, error)
}

// EarnStore is what reading rules, campaigns and breakdowns needs.
type EarnStore interface {
	// Rule returns a version of a rule (0: the current); earn.ErrRuleNotFound.
	Rule(ctx context.Context, id string, version int) (earn.StoredRule, error)
	// Rules returns up to limit rules (current versions) with ids after after, by id.
	Rules(ctx context.Context, after string, limit int) ([]earn.StoredRule, error)
	Campaign(ctx context.Context, id string) (earn.Campaign, error)
	Campaigns(ctx context.Context, after string, limit int) ([]earn.Campaign, error)
	// CreditParts returns a credit's breakdown; earn.ErrNoBreakdown when it has none.
	CreditParts(ctx context.Context, transactionID string) ([]earn.CreditPart, error)
}
