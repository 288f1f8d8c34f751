package service_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
)

func (e *env) routing() feedbackv1.RoutingServiceClient {
	return feedbackv1.NewRoutingServiceClient(e.Conn(e.addr, ""))
}

// teams creates the teams (24x7, the default calendar) a test's rules name.
func (e *env) teams(keys ...string) {
	e.t.Helper()
	tc := feedbackv1.NewTeamServiceClient(e.Conn(e.addr, ""))
	for _, key := range keys {
		_, err := tc.CreateTeam(as(keyAdmin), &feedbackv1.CreateTeamRequest{IdempotencyKey: "create-" + key, Key: key, Name: "Team " + key})
		if err != nil {
			e.t.Fatalf("CreateTeam %s: %v", key, err)
		}
	}
}

func spec(name string, priority int32, condition, team, task string) *feedbackv1.RuleSpec {
	return &feedbackv1.RuleSpec{
		Name: name, Priority: priority, Condition: condition, Team: team, TaskType: task, CasePriority: "HIGH",
		FirstContactSla: durationpb.New(2 * time.Hour), ResolutionSla: durationpb.New(8 * time.Hour),
	}
}

func (e *env) createRule(s *feedbackv1.RuleSpec) *feedbackv1.Rule {
	e.t.Helper()
	resp, err := e.routing().CreateRule(as(keyAdmin), &feedbackv1.CreateRuleRequest{Spec: s})
	if err != nil {
		e.t.Fatalf("CreateRule %s: %v", s.GetName(), err)
	}
	return resp.GetRule()
}

// routedTo returns the task type and team a response was routed to, once it was.
func (e *env) routedTo(responseID string) (task, team string) {
	e.t.Helper()
	testkit.Eventually(e.t, 10*time.Second, "route of "+responseID, func() bool {
		err := e.db.QueryRow(context.Background(),
			`SELECT task_type, team FROM routed_responses WHERE response_id = $1`, responseID).Scan(&task, &team)
		return err == nil
	})
	return task, team
}

func TestRoutingRulesOverGRPC(t *testing.T) {
	t.Parallel()
	e := start(t)
	rc := e.routing()
	ctx := as(keyAdmin)
	e.teams("web-team", "web-care")

	// A team no team has.
	_, err := rc.CreateRule(ctx, &feedbackv1.CreateRuleRequest{Spec: spec("nobodys", 1, "true", "no-such-team", "CALL_BACK")})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "spec.team") {
		t.Errorf("rule for an unknown team: %v", err)
	}

	// Create, idempotently.
	req := &feedbackv1.CreateRuleRequest{Spec: spec("web-detractor", 10, `touchpoint == "WEB_VISIT" && score <= 6`, "web-team", "PRODUCT_FEEDBACK"), IdempotencyKey: "k-1"}
	first, err := rc.CreateRule(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := rc.CreateRule(ctx, req)
	if err != nil || again.GetRule().GetRuleId() != first.GetRule().GetRuleId() {
		t.Fatalf("retried CreateRule = %v, %v; want rule %d", again, err, first.GetRule().GetRuleId())
	}
	id := first.GetRule().GetRuleId()
	if r := first.GetRule(); r.GetVersion() != 1 || !r.GetEnabled() || r.GetSpec().GetTaskType() != "PRODUCT_FEEDBACK" ||
		r.GetSpec().GetCasePriority() != "HIGH" || r.GetSpec().GetFirstContactSla().AsDuration() != 2*time.Hour {
		t.Errorf("created rule = %v", r)
	}
	// Another rule of the same name.
	_, err = rc.CreateRule(ctx, &feedbackv1.CreateRuleRequest{Spec: spec("web-detractor", 11, "true", "web-team", "CALL_BACK")})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "another rule has this name") {
		t.Errorf("duplicate name: %v", err)
	}

	web := e.submit(4, func(r *surveyv1.ResponseSubmitted) { r.Touchpoint = commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT })
	c1 := e.waitCase(web.GetResponseId())
	if c1.GetTeam() != "web-team" || !c1.GetDueAt().AsTime().Equal(web.GetSubmittedAt().AsTime().Add(8*time.Hour)) {
		t.Errorf("web detractor case = %v", c1)
	}

	// Update: a new version; the case keeps naming the version that opened it.
	up, err := rc.UpdateRule(ctx, &feedbackv1.UpdateRuleRequest{RuleId: id,
		Spec: spec("web-detractor", 10, `touchpoint == "WEB_VISIT" && score <= 6`, "web-care", "CALL_BACK")})
	if err != nil || up.GetRule().GetVersion() != 2 || up.GetRule().GetSpec().GetTeam() != "web-care" {
		t.Fatalf("UpdateRule = %v, %v", up, err)
	}
	got, err := rc.GetRule(ctx, &feedbackv1.GetRuleRequest{RuleId: id})
	if err != nil || len(got.GetVersions()) != 2 || got.GetVersions()[0].GetTeam() != "web-team" || got.GetVersions()[1].GetTeam() != "web-care" {
		t.Fatalf("GetRule = %v, %v", got, err)
	}
	var ruleID, version int
	if err := e.db.QueryRow(context.Background(), `SELECT rule_id, rule_version FROM cases WHERE response_id = $1`, web.GetResponseId()).Scan(&ruleID, &version); err != nil || int64(ruleID) != id || version != 1 {
		t.Errorf("first case names rule %d version %d (%v); want %d version 1", ruleID, version, err, id)
	}
	web2 := e.submit(4, func(r *surveyv1.ResponseSubmitted) { r.Touchpoint = commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT })
	if c := e.waitCase(web2.GetResponseId()); c.GetTeam() != "web-care" || c.GetKind() != feedbackv1.CaseKind_CASE_KIND_CALLBACK {
		t.Errorf("after the update a web detractor case = %v", c)
	}

	// Disabled: skipped (the seeded detractor rule takes it); no new version.
	dis, err := rc.SetRuleEnabled(ctx, &feedbackv1.SetRuleEnabledRequest{RuleId: id, Enabled: false})
	if err != nil || dis.GetRule().GetEnabled() || dis.GetRule().GetVersion() != 2 {
		t.Fatalf("SetRuleEnabled = %v, %v", dis, err)
	}
	web3 := e.submit(4, func(r *surveyv1.ResponseSubmitted) { r.Touchpoint = commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT })
	if c := e.waitCase(web3.GetResponseId()); c.GetTeam() != "customer-service" {
		t.Errorf("with the rule disabled a web detractor went to %q", c.GetTeam())
	}
	if _, err := rc.SetRuleEnabled(ctx, &feedbackv1.SetRuleEnabledRequest{RuleId: id, Enabled: true}); err != nil {
		t.Fatal(err)
	}

	// Reorder: the seeded detractor rule (100) moved ahead of it wins; all or none.
	list, err := rc.ListRules(ctx, &feedbackv1.ListRulesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	names := func(rules []*feedbackv1.Rule) []string {
		var out []string
		for _, r := range rules {
			out = append(out, r.GetSpec().GetName())
		}
		return out
	}
	if got := names(list.GetRules()); !slices.Equal(got, []string{"web-detractor", "detractor-callback", "dissatisfied-callback", "promoter-referral"}) {
		t.Errorf("rules in order %v", got)
	}
	if list.GetDefaultRoute().GetTaskType() != "NONE" {
		t.Errorf("default route %v", list.GetDefaultRoute())
	}
	seededID := list.GetRules()[1].GetRuleId()
	_, err = rc.Reorder(ctx, &feedbackv1.ReorderRequest{Priorities: []*feedbackv1.ReorderRequest_Priority{{RuleId: seededID, Priority: 1}, {RuleId: 999999, Priority: 2}}})
	if status.Code(err) != codes.NotFound {
		t.Errorf("reorder with an unknown rule: %v", err)
	}
	re, err := rc.Reorder(ctx, &feedbackv1.ReorderRequest{Priorities: []*feedbackv1.ReorderRequest_Priority{{RuleId: seededID, Priority: 5}, {RuleId: id, Priority: 50}}})
	if err != nil || !slices.Equal(names(re.GetRules())[:2], []string{"detractor-callback", "web-detractor"}) {
		t.Fatalf("Reorder = %v, %v", re, err)
	}
	web4 := e.submit(4, func(r *surveyv1.ResponseSubmitted) { r.Touchpoint = commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT })
	if c := e.waitCase(web4.GetResponseId()); c.GetTeam() != "customer-service" {
		t.Errorf("after the reorder a web detractor went to %q", c.GetTeam())
	}
	if _, err := rc.UpdateRule(ctx, &feedbackv1.UpdateRuleRequest{RuleId: 999999, Spec: spec("nope", 1, "true", "web-team", "CALL_BACK")}); status.Code(err) != codes.NotFound {
		t.Errorf("update of an unknown rule: %v", err)
	}
}

func TestRuleConditionErrors(t *testing.T) {
	t.Parallel()
	e := start(t)
	for _, tt := range []struct{ condition, want string }{
		{"score <= 6 &&\n  nps_clas == \"DETRACTOR\"", "line 2, column 3"},
		{`score + 1`, "want bool"},
		{`score <=`, "line 1, column 9"},
		{`topics.exists(t, t == 1)`, "line 1"},
	} {
		_, err := e.routing().CreateRule(as(keyAdmin), &feedbackv1.CreateRuleRequest{Spec: spec("bad", 1, tt.condition, "t", "CALL_BACK")})
		if status.Code(err) != codes.InvalidArgument || !slices.Equal(badFields(err), []string{"spec.condition"}) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("condition %q: %v; want InvalidArgument on spec.condition with %q", tt.condition, err, tt.want)
		}
	}
	bad := spec("bad", 1, "true", "Team With Spaces", "CALL_BACK")
	if _, err := e.routing().CreateRule(as(keyAdmin), &feedbackv1.CreateRuleRequest{Spec: bad}); !slices.Equal(badFields(err), []string{"spec.team"}) {
		t.Errorf("bad team: %v", err)
	}
	bad = spec("bad", 1, "true", "t", "CALL_BACK")
	bad.FirstContactSla = durationpb.New(9 * time.Hour)
	if _, err := e.routing().CreateRule(as(keyAdmin), &feedbackv1.CreateRuleRequest{Spec: bad}); !slices.Equal(badFields(err), []string{"spec.first_contact_sla"}) {
		t.Errorf("first contact after resolution: %v", err)
	}
	bad = spec("bad", 1, "true", "t", "CALLBACK")
	if _, err := e.routing().CreateRule(as(keyAdmin), &feedbackv1.CreateRuleRequest{Spec: bad}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("unknown task type: %v", err)
	}
}

// TestRoutingVariables: language, tier (from the ledger's member events), region (from
// SetStoreRegions), employee each drive a rule; STORE_FOLLOW_UP goes to the store's team.
func TestRoutingVariables(t *testing.T) {
	t.Parallel()
	e := start(t)
	rc := e.routing()
	ctx := as(keyAdmin)
	e.teams("de-care", "vip-care", "north-care", "coaching", "store-n2-manager")
	e.createRule(spec("german", 10, `language == "de" && score <= 6`, "de-care", "CALL_BACK"))
	e.createRule(spec("gold", 5, `tier == "GOLD" && score <= 6`, "vip-care", "CALL_BACK"))
	e.createRule(spec("north", 20, `region == "north" && score <= 6`, "north-care", "STORE_FOLLOW_UP"))
	e.createRule(spec("trainee", 30, `employee_id.startsWith("trainee-") && score <= 6 && size(topics) == 0`, "coaching", "CALL_BACK"))
	if _, err := rc.SetStoreRegions(ctx, &feedbackv1.SetStoreRegionsRequest{Regions: []*feedbackv1.StoreRegion{
		{StoreId: "store-n1", Region: "north"}, {StoreId: "store-n2", Region: "north", StoreTeam: "store-n2-manager"},
	}}); err != nil {
		t.Fatal(err)
	}

	_, err := rc.SetStoreRegions(ctx, &feedbackv1.SetStoreRegionsRequest{Regions: []*feedbackv1.StoreRegion{
		{StoreId: "store-n3", Region: "north"}, {StoreId: "store-n4", Region: "north", StoreTeam: "no-such-team"}}})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "regions[1].store_team") {
		t.Errorf("store team no team has: %v", err)
	}

	gold, silver := uuid.NewString(), uuid.NewString()
	e.publish(&ledgerv1.MemberEnrolled{MemberId: gold, Tier: "SILVER", Locale: "en", EnrolledAt: timestamppb.New(time.Now().Add(-time.Hour))})
	e.publish(&ledgerv1.MemberTierChanged{MemberId: gold, FromTier: "SILVER", ToTier: "GOLD",
		Reason: ledgerv1.TierChangeReason_TIER_CHANGE_REASON_UPGRADE, EffectiveAt: timestamppb.New(time.Now())})
	e.publish(&ledgerv1.MemberEnrolled{MemberId: silver, Tier: "SILVER", EnrolledAt: timestamppb.New(time.Now())})
	testkit.Eventually(t, 10*time.Second, "member tiers kept", func() bool {
		var n int
		_ = e.db.QueryRow(context.Background(), `SELECT count(*) FROM members WHERE (member_id, tier) IN (($1, 'GOLD'), ($2, 'SILVER'))`, gold, silver).Scan(&n)
		return n == 2
	})

	locale := func(l string) responseOpt { return func(r *surveyv1.ResponseSubmitted) { r.Locale = l } }
	storeOf := func(s string) responseOpt { return func(r *surveyv1.ResponseSubmitted) { r.StoreId = s } }
	cases := []struct {
		name string
		r    *surveyv1.ResponseSubmitted
		team string
	}{
		{"german", e.submit(3, locale("de-AT")), "de-care"},
		{"english", e.submit(3, locale("en-GB")), "customer-service"},
		{"gold", e.submit(3, withMember(gold), locale("de-DE")), "vip-care"},
		{"silver", e.submit(3, withMember(silver)), "customer-service"},
		{"north store, no store team", e.submit(3, storeOf("store-n1")), "north-care"},
		{"north store with its manager's team", e.submit(3, storeOf("store-n2")), "store-n2-manager"},
		{"trainee", e.submit(3, attributed("trainee-7", commonv1.Channel_CHANNEL_STORE)), "coaching"},
	}
	for _, tt := range cases {
		if c := e.waitCase(tt.r.GetResponseId()); c.GetTeam() != tt.team {
			t.Errorf("%s: case went to %q, want %q", tt.name, c.GetTeam(), tt.team)
		}
	}
	if task, _ := e.routedTo(cases[5].r.GetResponseId()); task != "STORE_FOLLOW_UP" {
		t.Errorf("north store routed as %q", task)
	}

	// The dry run explains: the rules tried in order, the facts seen.
	dr, err := rc.DryRun(as(keyAuditor), &feedbackv1.DryRunRequest{Response: &feedbackv1.SampleResponse{
		Score: 2, StoreId: "store-n2", Locale: "de-CH", MemberId: gold}})
	if err != nil {
		t.Fatal(err)
	}
	if dr.GetTeam() != "vip-care" || dr.GetTaskType() != "CALL_BACK" || dr.GetCasePriority() != "HIGH" || dr.GetDefaultRoute() ||
		dr.GetRuleVersion() != 1 || dr.GetTier() != "GOLD" || dr.GetRegion() != "north" || dr.GetLanguage() != "de" ||
		len(dr.GetTried()) != 1 || !dr.GetTried()[0].GetMatched() || dr.GetResolutionSla().AsDuration() != 8*time.Hour {
		t.Errorf("dry run = %v", dr)
	}
	dr, err = rc.DryRun(ctx, &feedbackv1.DryRunRequest{Response: &feedbackv1.SampleResponse{Score: 2, StoreId: "store-n2"}, Tier: "BRONZE"})
	if err != nil {
		t.Fatal(err)
	}
	var tried []string
	for _, tr := range dr.GetTried() {
		tried = append(tried, tr.GetName())
	}
	if dr.GetTeam() != "store-n2-manager" || dr.GetTaskType() != "STORE_FOLLOW_UP" ||
		!slices.Equal(tried, []string{"gold", "german", "north"}) {
		t.Errorf("dry run of a north detractor = %v (tried %v)", dr, tried)
	}
	dr, err = rc.DryRun(ctx, &feedbackv1.DryRunRequest{Response: &feedbackv1.SampleResponse{Score: 8}})
	if err != nil || !dr.GetDefaultRoute() || dr.GetTaskType() != "NONE" || len(dr.GetTried()) != 7 {
		t.Errorf("dry run of a passive = %v, %v", dr, err)
	}
	if _, err := rc.DryRun(ctx, &feedbackv1.DryRunRequest{Response: &feedbackv1.SampleResponse{Score: 11}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("dry run of an NPS of 11: %v", err)
	}

	// The member copy is in the member's export, and gone from it after the erasure.
	if m, ok := e.export(keyPrivacy, gold).GetData().AsMap()["member"].(map[string]any); !ok || m["tier"] != "GOLD" || m["locale"] != "en" {
		t.Errorf("export of the member copy = %v", e.export(keyPrivacy, gold).GetData().AsMap())
	}

	// Erasure deletes the member copy.
	e.publish(&ledgerv1.MemberErased{MemberId: gold, ErasedAt: timestamppb.New(time.Now())})
	testkit.Eventually(t, 10*time.Second, "member copy deleted", func() bool {
		var n int
		_ = e.db.QueryRow(context.Background(), `SELECT count(*) FROM members WHERE member_id = $1`, gold).Scan(&n)
		return n == 0
	})
	// A late tier change of the erased member keeps nothing.
	e.publish(&ledgerv1.MemberTierChanged{MemberId: gold, FromTier: "GOLD", ToTier: "PLATINUM",
		Reason: ledgerv1.TierChangeReason_TIER_CHANGE_REASON_UPGRADE, EffectiveAt: timestamppb.New(time.Now())})
	e.publish(&ledgerv1.MemberEnrolled{MemberId: silver + "-x", Tier: "GOLD", EnrolledAt: timestamppb.New(time.Now())})
	testkit.Eventually(t, 10*time.Second, "later member kept", func() bool {
		var n int
		_ = e.db.QueryRow(context.Background(), `SELECT count(*) FROM members WHERE member_id = $1`, silver+"-x").Scan(&n)
		return n == 1
	})
	var n int
	if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM members WHERE member_id = $1`, gold).Scan(&n); err != nil || n != 0 {
		t.Errorf("erased member kept again: %d, %v", n, err)
	}
	if _, ok := e.export(keyPrivacy, gold).GetData().AsMap()["member"]; ok {
		t.Error("the erased member's export still has the member copy")
	}
}

// TestDefaultRoute: every response is routed; passives go to the default route, NONE
// (recorded, no case) as seeded, or a team's task once set.
func TestDefaultRoute(t *testing.T) {
	t.Parallel()
	e := start(t)
	rc := e.routing()
	passive := e.submit(7)
	if task, team := e.routedTo(passive.GetResponseId()); task != "NONE" || team != "" {
		t.Errorf("passive routed to %q %q; want NONE", task, team)
	}
	if e.caseOf(passive.GetResponseId()) != nil {
		t.Error("a passive opened a case under the NONE default route")
	}
	_, err := rc.SetDefaultRoute(as(keyAdmin), &feedbackv1.SetDefaultRouteRequest{Route: &feedbackv1.DefaultRoute{TaskType: "NONE", Team: "x"}})
	if !slices.Equal(badFields(err), []string{"team"}) {
		t.Errorf("NONE with a team: %v", err)
	}
	_, err = rc.SetDefaultRoute(as(keyAdmin), &feedbackv1.SetDefaultRouteRequest{Route: &feedbackv1.DefaultRoute{
		TaskType: "PRODUCT_FEEDBACK", Team: "insights", CasePriority: "LOW",
		FirstContactSla: durationpb.New(24 * time.Hour), ResolutionSla: durationpb.New(72 * time.Hour)}})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("default route to an unknown team: %v", err)
	}
	e.teams("insights")
	set, err := rc.SetDefaultRoute(as(keyAdmin), &feedbackv1.SetDefaultRouteRequest{Route: &feedbackv1.DefaultRoute{
		TaskType: "PRODUCT_FEEDBACK", Team: "insights", CasePriority: "LOW",
		FirstContactSla: durationpb.New(24 * time.Hour), ResolutionSla: durationpb.New(72 * time.Hour)}})
	if err != nil || set.GetRoute().GetTeam() != "insights" {
		t.Fatalf("SetDefaultRoute = %v, %v", set, err)
	}
	passive2 := e.submit(8)
	c := e.waitCase(passive2.GetResponseId())
	if c.GetTeam() != "insights" || !c.GetDueAt().AsTime().Equal(passive2.GetSubmittedAt().AsTime().Add(72*time.Hour)) {
		t.Errorf("passive under the default route: %v", c)
	}
	var rule int64
	if err := e.db.QueryRow(context.Background(), `SELECT rule_id FROM cases WHERE response_id = $1`, passive2.GetResponseId()).Scan(&rule); err != nil || rule != 0 {
		t.Errorf("default route case names rule %d, %v; want 0", rule, err)
	}
	// The seeded rules keep their outcomes.
	if c := e.waitCase(e.submit(2).GetResponseId()); c.GetTeam() != "customer-service" {
		t.Errorf("detractor went to %q", c.GetTeam())
	}
}

func TestRoutingRoles(t *testing.T) {
	t.Parallel()
	e := start(t)
	rc := e.routing()
	for _, key := range []string{keyAlice, keyMarket, keyAuditor, keyPOS, keyPrivacy} {
		_, err := rc.CreateRule(as(key), &feedbackv1.CreateRuleRequest{Spec: spec("r-"+key, 1, "true", "t", "CALL_BACK")})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("CreateRule as %s: %v", key, err)
		}
		_, err = rc.SetDefaultRoute(as(key), &feedbackv1.SetDefaultRouteRequest{Route: &feedbackv1.DefaultRoute{TaskType: "NONE"}})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("SetDefaultRoute as %s: %v", key, err)
		}
	}
	for _, key := range []string{keyAdmin, keyAlice, keyAuditor} {
		if _, err := rc.ListRules(as(key), &feedbackv1.ListRulesRequest{}); err != nil {
			t.Errorf("ListRules as %s: %v", key, err)
		}
	}
	for _, key := range []string{keyMarket, keyPOS, keyPrivacy} {
		if _, err := rc.ListRules(as(key), &feedbackv1.ListRulesRequest{}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("ListRules as %s: %v", key, err)
		}
	}
}
