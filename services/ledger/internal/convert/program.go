package convert

import (
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

// optTime is a timestamp's time, the zero time when it is unset.
func optTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}

// RuleVersion is a rule definition as the engine reads it; a rate that is no decimal is
// an *earn.InvalidError of award.rate.
func RuleVersion(d *ledgerv1.RuleDefinition) (earn.RuleVersion, error) {
	a := d.GetAward()
	v := earn.RuleVersion{
		Name: d.GetName(), CampaignID: d.GetCampaignId(), Trigger: d.GetTrigger(), Condition: d.GetCondition(),
		LineFilter: d.GetLineFilter(),
		Award: earn.Award{Kind: earn.AwardKind(a.GetKind()), Points: a.GetPoints(), Per: earn.Scope(a.GetPer()),
			On: earn.Target(a.GetOn())},
		Priority: int(d.GetPriority()), Stacking: earn.Stacking(d.GetStacking()), Group: d.GetGroup(),
		ValidFrom: optTime(d.GetValidFrom()), ValidUntil: optTime(d.GetValidUntil()),
		Caps: earn.Caps{PerPurchase: d.GetCaps().GetPerPurchase(), PerDay: d.GetCaps().GetPerDay(),
			PerMonth: d.GetCaps().GetPerMonth(), PerCampaign: d.GetCaps().GetPerCampaign()},
		Expiry: d.GetExpiry(), EventLimit: earn.Limit(d.GetEventLimit()),
	}
	if a.GetRate() != "" {
		r, err := domain.ParseRate(a.GetRate())
		if err != nil {
			return earn.RuleVersion{}, &earn.InvalidError{Field: "award.rate", Reason: err.Error()}
		}
		v.Award.Rate = r
	}
	return v, nil
}

// Decimal writes a rate as a decimal ("1.5"); rates are read from decimals with at most
// six places, so their denominators divide 10^6.
func Decimal(r domain.Rate) string {
	if r.IsZero() {
		return ""
	}
	num, den := r.Fraction()
	if 1_000_000%den != 0 {
		return r.String()
	}
	scaled := num * (1_000_000 / den)
	s := strconv.FormatInt(scaled/1_000_000, 10)
	if frac := scaled % 1_000_000; frac != 0 {
		s += "." + strings.TrimRight(strconv.FormatInt(1_000_000+frac, 10)[1:], "0")
	}
	return s
}

// RuleDefinition is a rule version as the API shows it.
func RuleDefinition(v earn.RuleVersion) *ledgerv1.RuleDefinition {
	return &ledgerv1.RuleDefinition{
		Name: v.Name, CampaignId: v.CampaignID, Trigger: v.Trigger, Condition: v.Condition, LineFilter: v.LineFilter,
		Award: &ledgerv1.Award{Kind: string(v.Award.Kind), Rate: Decimal(v.Award.Rate), Points: v.Award.Points,
			Per: string(v.Award.Per), On: string(v.Award.On)},
		Priority: int32(v.Priority), Stacking: string(v.Stacking), Group: v.Group,
		ValidFrom: Timestamp(v.ValidFrom), ValidUntil: Timestamp(v.ValidUntil),
		Caps: &ledgerv1.Caps{PerPurchase: v.Caps.PerPurchase, PerDay: v.Caps.PerDay, PerMonth: v.Caps.PerMonth,
			PerCampaign: v.Caps.PerCampaign},
		Expiry: v.Expiry, EventLimit: string(v.EventLimit),
	}
}

// Rule is a stored rule as the API shows it.
func Rule(r earn.StoredRule) *ledgerv1.Rule {
	return &ledgerv1.Rule{RuleId: r.Version.RuleID, Version: int32(r.Version.Version), State: string(r.State),
		Definition: RuleDefinition(r.Version), CreatedAt: Timestamp(r.CreatedAt), CreatedBy: r.CreatedBy}
}

// Rules is a page of rules.
func Rules(rs []earn.StoredRule, next string) *ledgerv1.ListRulesResponse {
	out := &ledgerv1.ListRulesResponse{NextPageToken: next}
	for _, r := range rs {
		out.Rules = append(out.Rules, Rule(r))
	}
	return out
}

// CampaignOf is a campaign definition as the domain keeps it.
func CampaignOf(id string, d *ledgerv1.CampaignDefinition) earn.Campaign {
	return earn.Campaign{ID: id, Name: d.GetName(), From: optTime(d.GetStartsAt()), Until: optTime(d.GetEndsAt()),
		Stores: d.GetStores(), Channels: d.GetChannels(), Active: d.GetActive(), Budget: d.GetBudgetPoints()}
}

// Campaign is a campaign as the API shows it.
func Campaign(c earn.Campaign) *ledgerv1.Campaign {
	return &ledgerv1.Campaign{
		CampaignId: c.ID,
		Definition: &ledgerv1.CampaignDefinition{Name: c.Name, StartsAt: Timestamp(c.From), EndsAt: Timestamp(c.Until),
			Stores: c.Stores, Channels: c.Channels, Active: c.Active, BudgetPoints: c.Budget},
		SpentPoints: c.Spent, ExhaustedAt: Timestamp(c.ExhaustedAt), UpdatedAt: Timestamp(c.UpdatedAt),
	}
}

// Campaigns is a page of campaigns.
func Campaigns(cs []earn.Campaign, next string) *ledgerv1.ListCampaignsResponse {
	out := &ledgerv1.ListCampaignsResponse{NextPageToken: next}
	for _, c := range cs {
		out.Campaigns = append(out.Campaigns, Campaign(c))
	}
	return out
}

// Explanation is a calculation as the API shows it.
func Explanation(x earn.Explanation) *ledgerv1.Explanation {
	out := &ledgerv1.Explanation{TotalPoints: x.Total}
	for _, p := range x.Parts {
		lines := make([]int32, len(p.MatchedLines))
		for i, l := range p.MatchedLines {
			lines[i] = int32(l)
		}
		out.Parts = append(out.Parts, &ledgerv1.ExplanationPart{
			RuleId: p.RuleID, Version: int32(p.Version), Name: p.Name, CampaignId: p.CampaignID, MatchedLines: lines,
			LinePoints: p.LinePoints, UncappedPoints: p.Uncapped, Points: p.Points, Cap: string(p.Cap), Expiry: p.Expiry.String(),
		})
	}
	return out
}

// SimulatedPurchase is the purchase a simulation describes (OccurredAt zero: now).
func SimulatedPurchase(req *ledgerv1.SimulatePurchaseRequest) domain.Purchase {
	p := domain.Purchase{
		Key:      domain.PurchaseKey{StoreID: req.GetStoreId(), TransactionID: "simulation"},
		MemberID: req.GetMemberId(), MemberRef: req.GetMemberId(), OccurredAt: optTime(req.GetOccurredAt()),
		Currency: req.GetCurrency(), TotalMinor: req.GetTotalMinor(), Channel: req.GetChannel(),
	}
	for _, l := range req.GetLines() {
		p.Lines = append(p.Lines, domain.Line{SKU: l.GetSku(), Category: l.GetCategory(), Brand: l.GetBrand(),
			Quantity: l.GetQuantity(), AmountMinor: l.GetAmountMinor()})
	}
	return p
}
