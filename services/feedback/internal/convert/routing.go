package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// RuleSpec returns the domain's spec of a request's.
func RuleSpec(s *feedbackv1.RuleSpec) domain.RuleSpec {
	return domain.RuleSpec{
		Name: s.GetName(), Order: int(s.GetPriority()), Condition: s.GetCondition(), Team: s.GetTeam(),
		TaskType: domain.TaskType(s.GetTaskType()), Priority: domain.CasePriority(s.GetCasePriority()),
		FirstContactSLA: s.GetFirstContactSla().AsDuration(), ResolutionSLA: s.GetResolutionSla().AsDuration(),
	}
}

func dur(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

// Rule returns the API's view of a rule.
func Rule(r domain.Rule) *feedbackv1.Rule {
	return &feedbackv1.Rule{
		RuleId: r.ID, Version: int32(r.Version), Enabled: r.Active,
		Spec: &feedbackv1.RuleSpec{
			Name: r.Name, Priority: int32(r.Order), Condition: r.Condition, Team: r.Team,
			TaskType: string(r.TaskType), CasePriority: string(r.Priority),
			FirstContactSla: dur(r.FirstContactSLA), ResolutionSla: dur(r.ResolutionSLA),
		},
	}
}

// Rules returns the API's view of rules.
func Rules(rs []domain.Rule) []*feedbackv1.Rule {
	out := make([]*feedbackv1.Rule, len(rs))
	for i, r := range rs {
		out[i] = Rule(r)
	}
	return out
}

// RuleVersion returns the API's view of a rule version.
func RuleVersion(v domain.RuleVersion) *feedbackv1.RuleVersion {
	return &feedbackv1.RuleVersion{
		Version: int32(v.Version), Condition: v.Condition, Team: v.Team, TaskType: string(v.TaskType),
		CasePriority: string(v.Priority), FirstContactSla: dur(v.FirstContactSLA), ResolutionSla: dur(v.ResolutionSLA),
		CreatedAt: timestamppb.New(v.CreatedAt),
	}
}

// DefaultRouteOf returns the domain's default route of a request's.
func DefaultRouteOf(d *feedbackv1.DefaultRoute) domain.DefaultRoute {
	return domain.DefaultRoute{
		TaskType: domain.TaskType(d.GetTaskType()), Team: d.GetTeam(), Priority: domain.CasePriority(d.GetCasePriority()),
		FirstContactSLA: d.GetFirstContactSla().AsDuration(), ResolutionSLA: d.GetResolutionSla().AsDuration(),
	}
}

// DefaultRoute returns the API's view of the default route.
func DefaultRoute(d domain.DefaultRoute) *feedbackv1.DefaultRoute {
	out := &feedbackv1.DefaultRoute{TaskType: string(d.TaskType), Team: d.Team}
	if d.TaskType != domain.TaskNone {
		out.CasePriority, out.FirstContactSla, out.ResolutionSla = string(d.Priority), dur(d.FirstContactSLA), dur(d.ResolutionSLA)
	}
	return out
}

// StoreRegions returns the domain's store regions of a request's.
func StoreRegions(rs []*feedbackv1.StoreRegion) []domain.StoreRegion {
	out := make([]domain.StoreRegion, len(rs))
	for i, r := range rs {
		out[i] = domain.StoreRegion{StoreID: r.GetStoreId(), Region: r.GetRegion(), StoreTeam: r.GetStoreTeam()}
	}
	return out
}

// Sample returns the response a dry run routes, and the facts it overrides.
func Sample(req *feedbackv1.DryRunRequest) (domain.Response, domain.RoutingFacts) {
	s := req.GetResponse()
	r := domain.Response{
		MemberID: s.GetMemberId(), SurveyID: s.GetSurveyId(), Touchpoint: domainOf(touchpoints, s.GetTouchpoint()),
		StoreID: s.GetStoreId(), Score: int(s.GetScore()), Comment: s.GetComment(),
		ScoreKind: domainOf(scoreKinds, s.GetScoreKind()), EmployeeID: s.GetEmployeeId(),
		Channel: domainOf(channels, s.GetChannel()), Locale: s.GetLocale(),
	}
	return r, domain.RoutingFacts{Tier: req.GetTier(), Region: req.GetRegion()}
}

// DryRunResponse returns the API's view of a dry run.
func DryRunResponse(res app.DryRunResult) *feedbackv1.DryRunResponse {
	rt := res.Route
	out := &feedbackv1.DryRunResponse{
		DefaultRoute: rt.Default, TaskType: string(rt.Rule.TaskType), Team: rt.Team,
		Language: res.Facts.Language, Tier: res.Facts.Tier, Region: res.Facts.Region,
	}
	if !rt.Default {
		out.RuleId, out.RuleVersion = rt.Rule.ID, int32(rt.Rule.Version)
	}
	if !rt.NoCase() {
		out.CasePriority, out.FirstContactSla, out.ResolutionSla = string(rt.Rule.Priority), dur(rt.Rule.FirstContactSLA), dur(rt.Rule.ResolutionSLA)
	}
	for _, t := range res.Tried {
		out.Tried = append(out.Tried, &feedbackv1.RuleTrial{RuleId: t.RuleID, Name: t.Name, Version: int32(t.Version), Matched: t.Matched, Error: t.Error})
	}
	return out
}

// MemberEnrolled, MemberUpdated and MemberTierChanged return what routing keeps of a member.
func MemberEnrolled(m *ledgerv1.MemberEnrolled) app.MemberFacts {
	return app.MemberFacts{MemberID: m.GetMemberId(), Tier: m.GetTier(), Locale: m.GetLocale(), UpdatedAt: timeOrZero(m.GetEnrolledAt()),
		DisplayName: m.GetDisplayName(), Email: m.GetEmail(), Phone: m.GetPhone()}
}

// MemberUpdated: see MemberEnrolled.
func MemberUpdated(m *ledgerv1.MemberUpdated) app.MemberFacts {
	return app.MemberFacts{MemberID: m.GetMemberId(), Tier: m.GetTier(), Locale: m.GetLocale(), UpdatedAt: timeOrZero(m.GetUpdatedAt()),
		DisplayName: m.GetDisplayName(), Email: m.GetEmail(), Phone: m.GetPhone()}
}

// MemberTierChanged: see MemberEnrolled.
func MemberTierChanged(m *ledgerv1.MemberTierChanged) app.MemberFacts {
	return app.MemberFacts{MemberID: m.GetMemberId(), Tier: m.GetToTier(), UpdatedAt: timeOrZero(m.GetEffectiveAt())}
}
