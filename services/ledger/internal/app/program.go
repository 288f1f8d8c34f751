package app

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

// ProgramCommands manage earning rules and campaigns. Every change writes the audit log
// and moves the earning epoch in its transaction, so every batch after it sees it.
type ProgramCommands struct{ *base }

// ProgramQueries read rules, campaigns and breakdowns, and dry-run purchases.
type ProgramQueries struct{ *base }

// Audit kinds and actions of rules and campaigns.
const (
	auditKindRule     = "rule"
	auditKindCampaign = "campaign"
)

// checkRule compiles a rule version (refusing it with an *earn.InvalidError naming the
// field) and checks its campaign exists.
func (u *ProgramCommands) checkRule(ctx context.Context, tx Tx, v earn.RuleVersion) error {
	if _, err := u.earning.engine.Check(v); err != nil {
		return err
	}
	if v.CampaignID != "" {
		if _, ok := domain.CanonicalUUID(v.CampaignID); !ok {
			return &earn.InvalidError{Field: "campaign_id", Reason: "not a campaign id"}
		}
		if _, err := tx.LockCampaign(ctx, v.CampaignID); errors.Is(err, earn.ErrCampaignNotFound) {
			return &earn.InvalidError{Field: "campaign_id", Reason: "no such campaign"}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// CreateRule stores v as version 1 of a new rule, active at once or as a draft.
func (u *ProgramCommands) CreateRule(ctx context.Context, actor domain.Actor, v earn.RuleVersion, activate bool) (earn.StoredRule, error) {
	now := u.clock()
	v.RuleID, v.Version = u.newID(), 1
	r := earn.StoredRule{State: earn.StateDraft, Current: 1, Version: v, CreatedAt: now, CreatedBy: actor.Name}
	if activate {
		r.State = earn.StateActive
	}
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := u.checkRule(ctx, tx, v); err != nil {
			return err
		}
		if err := tx.InsertRule(ctx, r); err != nil {
			return err
		}
		if activate {
			if err := tx.SetLivePeriod(ctx, v.RuleID, 1, now); err != nil {
				return err
			}
		}
		if err := tx.BumpEarningEpoch(ctx); err != nil {
			return err
		}
		return u.audit(ctx, tx, actor, "create", auditKindRule, v.RuleID, nil, r, "")
	})
	return r, err
}

// UpdateRule stores v as the next version of a rule; expected (when not 0) must be the
// current version, else earn.ErrVersionConflict. The rule keeps its state; an active
// rule is live in its new version from now on.
func (u *ProgramCommands) UpdateRule(ctx context.Context, actor domain.Actor, id string, v earn.RuleVersion, expected int) (earn.StoredRule, error) {
	now := u.clock()
	var r earn.StoredRule
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		before, err := tx.LockRule(ctx, id)
		if err != nil {
			return err
		}
		if expected != 0 && expected != before.Current {
			return earn.ErrVersionConflict
		}
		v.RuleID, v.Version = id, before.Current+1
		if err := u.checkRule(ctx, tx, v); err != nil {
			return err
		}
		r = earn.StoredRule{State: before.State, Current: v.Version, Version: v, CreatedAt: now, CreatedBy: actor.Name}
		if err := tx.InsertRuleVersion(ctx, r); err != nil {
			return err
		}
		if r.State == earn.StateActive {
			if err := tx.SetLivePeriod(ctx, id, v.Version, now); err != nil {
				return err
			}
		}
		if err := tx.BumpEarningEpoch(ctx); err != nil {
			return err
		}
		return u.audit(ctx, tx, actor, "update", auditKindRule, id, before, r, "")
	})
	return r, err
}

// SetRuleActive activates or deactivates a rule; doing it again changes nothing and
// writes nothing.
func (u *ProgramCommands) SetRuleActive(ctx context.Context, actor domain.Actor, id string, active bool) (earn.StoredRule, error) {
	now := u.clock()
	var r earn.StoredRule
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		before, err := tx.LockRule(ctx, id)
		if err != nil {
			return err
		}
		r = before
		state, action, version := earn.StateInactive, "deactivate", 0
		if active {
			state, action, version = earn.StateActive, "activate", before.Current
		}
		if before.State == state {
			return nil
		}
		r.State = state
		if err := tx.SetRuleState(ctx, id, state, now); err != nil {
			return err
		}
		if err := tx.SetLivePeriod(ctx, id, version, now); err != nil {
			return err
		}
		if err := tx.BumpEarningEpoch(ctx); err != nil {
			return err
		}
		return u.audit(ctx, tx, actor, action, auditKindRule, id, before, r, "")
	})
	return r, err
}

// CreateCampaign stores a new campaign.
func (u *ProgramCommands) CreateCampaign(ctx context.Context, actor domain.Actor, c earn.Campaign) (earn.Campaign, error) {
	now := u.clock()
	c.ID, c.Spent, c.UpdatedAt, c.ExhaustedAt = u.newID(), 0, now, time.Time{}
	if err := c.Check(); err != nil {
		return earn.Campaign{}, err
	}
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.InsertCampaign(ctx, c, now); err != nil {
			return err
		}
		if err := tx.BumpEarningEpoch(ctx); err != nil {
			return err
		}
		return u.audit(ctx, tx, actor, "create", auditKindCampaign, c.ID, nil, c, "")
	})
	return c, err
}

// UpdateCampaign changes a campaign's definition; what it spent stays. A budget below
// what was spent is refused (budget_points).
func (u *ProgramCommands) UpdateCampaign(ctx context.Context, actor domain.Actor, c earn.Campaign) (earn.Campaign, error) {
	now := u.clock()
	var after earn.Campaign
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		before, err := tx.LockCampaign(ctx, c.ID)
		if err != nil {
			return err
		}
		after = c
		after.Spent, after.UpdatedAt, after.ExhaustedAt = before.Spent, now, before.ExhaustedAt
		if err := after.Check(); err != nil {
			return err
		}
		if after.Budget > 0 && after.Budget < after.Spent {
			return &earn.InvalidError{Field: "budget_points", Reason: "below the points the campaign has already awarded"}
		}
		switch {
		case after.Budget > 0 && after.Spent >= after.Budget:
			if after.ExhaustedAt.IsZero() {
				after.ExhaustedAt = now
			}
		default:
			after.ExhaustedAt = time.Time{} // a raised budget opens the campaign again
		}
		if err := tx.SaveCampaign(ctx, after, now); err != nil {
			return err
		}
		if err := tx.BumpEarningEpoch(ctx); err != nil {
			return err
		}
		return u.audit(ctx, tx, actor, "update", auditKindCampaign, c.ID, before, after, "")
	})
	return after, err
}

// Rule returns a version of a rule (0: its current one).
func (u *ProgramQueries) Rule(ctx context.Context, id string, version int) (earn.StoredRule, error) {
	return u.store.Rule(ctx, id, version)
}

// Rules pages through the rules by id.
func (u *ProgramQueries) Rules(ctx context.Context, pageSize int, token string) ([]earn.StoredRule, string, error) {
	limit := pageLimit(pageSize)
	rs, err := u.store.Rules(ctx, token, limit+1)
	if err != nil || len(rs) <= limit {
		return rs, "", err
	}
	return rs[:limit], rs[limit-1].Version.RuleID, nil
}

// Campaign returns a campaign.
func (u *ProgramQueries) Campaign(ctx context.Context, id string) (earn.Campaign, error) {
	return u.store.Campaign(ctx, id)
}

// Campaigns pages through the campaigns by id.
func (u *ProgramQueries) Campaigns(ctx context.Context, pageSize int, token string) ([]earn.Campaign, string, error) {
	limit := pageLimit(pageSize)
	cs, err := u.store.Campaigns(ctx, token, limit+1)
	if err != nil || len(cs) <= limit {
		return cs, "", err
	}
	return cs[:limit], cs[limit-1].ID, nil
}

// ExplainTransaction returns the stored breakdown of a credit.
func (u *ProgramQueries) ExplainTransaction(ctx context.Context, transactionID string) (earn.Explanation, string, error) {
	parts, err := u.store.CreditParts(ctx, transactionID)
	if err != nil {
		return earn.Explanation{}, "", err
	}
	var x earn.Explanation
	for _, p := range parts {
		x.Parts = append(x.Parts, p.Part)
		x.Total += p.Points
	}
	return x, parts[0].Reference, nil
}

// SimulatePurchase computes what p would earn its member under the live rules, with
// drafts tried among them (a draft with the id of a live rule replaces it). It books,
// spends and counts nothing: its transaction only reads.
func (u *ProgramQueries) SimulatePurchase(ctx context.Context, p domain.Purchase, drafts ...earn.RuleVersion) (earn.Explanation, error) {
	var x earn.Explanation
	if p.OccurredAt.IsZero() {
		p.OccurredAt = u.clock()
	}
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		live, campaigns, err := u.liveRules(ctx, tx)
		if err != nil {
			return err
		}
		set := live
		if len(drafts) > 0 {
			for _, d := range drafts {
				if _, err := u.earning.engine.Check(d); err != nil {
					return err
				}
			}
			set, _ = u.earning.engine.RuleSet(live.Rules(), drafts...)
		}
		profiles, err := tx.MemberProfiles(ctx, []string{p.MemberID})
		if err != nil {
			return err
		}
		profile, ok := profiles[p.MemberID]
		if !ok {
			return domain.ErrMemberNotFound
		}
		eng := u.earning.engine
		usage, err := tx.Usage(ctx, eng.UsageKeys(set, p.MemberID, p.OccurredAt))
		if err != nil {
			return err
		}
		if len(drafts) > 0 {
			var ids []string
			for _, d := range drafts {
				if d.CampaignID != "" {
					ids = append(ids, d.CampaignID)
				}
			}
			more, err := tx.Campaigns(ctx, ids)
			if err != nil {
				return err
			}
			campaigns = maps.Clone(campaigns)
			maps.Copy(campaigns, more)
		}
		// What budgets have spent moves with every batch: read it now.
		var ids []string
		for id := range campaigns {
			ids = append(ids, id)
		}
		if campaigns, err = tx.Campaigns(ctx, ids); err != nil {
			return err
		}
		if err := u.cfg.POS.CheckPurchase(p, u.clock()); err != nil {
			return err
		}
		x, _, err = eng.EvaluatePurchase(set, earn.PurchaseInput{Purchase: p, Member: profile, Usage: usage, Campaigns: campaigns})
		return err
	})
	return x, err
}
