package service_test

import (
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
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/services/survey/internal/domain"
	"github.com/treue/treue/services/survey/service"
)

// rules is a TriggerService client with role admin.
func (e *env) rules() surveyv1.TriggerServiceClient {
	return surveyv1.NewTriggerServiceClient(e.Conn(e.api, "admin"))
}

// createRule creates an active rule and returns it.
func (e *env) createRule(spec *surveyv1.TriggerRuleSpec) *surveyv1.TriggerRule {
	e.t.Helper()
	resp, err := e.rules().CreateTriggerRule(testkit.Ctx(e.t), &surveyv1.CreateTriggerRuleRequest{
		IdempotencyKey: "key-" + uuid.NewString(), Spec: spec, Active: true,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.GetRule()
}

// onlyRules switches the seeded rule off, so that only the test's rules decide.
func (e *env) onlyRules() {
	e.t.Helper()
	if _, err := e.rules().SetTriggerRuleActive(testkit.Ctx(e.t), &surveyv1.SetTriggerRuleActiveRequest{
		TriggerId: domain.SeedTriggerRuleID, Active: false,
	}); err != nil {
		e.t.Fatal(err)
	}
}

func spec(name string, tps ...commonv1.Touchpoint) *surveyv1.TriggerRuleSpec {
	return &surveyv1.TriggerRuleSpec{Name: name, Touchpoints: tps, SurveyId: domain.DefaultNPSSurveyID,
		Channels: []surveyv1.DeliveryChannel{surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL}}
}

// record reports a touchpoint through the API (role service).
func (e *env) record(req *surveyv1.RecordTouchpointRequest) *surveyv1.RecordTouchpointResponse {
	e.t.Helper()
	if req.EventId == "" {
		req.EventId = uuid.NewString()
	}
	if req.Touchpoint == commonv1.Touchpoint_TOUCHPOINT_UNSPECIFIED {
		req.Touchpoint = commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL
	}
	resp, err := e.service.RecordTouchpoint(testkit.Ctx(e.t), req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// enrollAll enrols members at once (consenting, English) and waits for the last.
func (e *env) enrollAll(members []string, tier string) {
	e.t.Helper()
	var last testkit.Sent
	for _, m := range members {
		last = e.publish(uuid.NewString(), &ledgerv1.MemberEnrolled{MemberId: m, Locale: "en", SurveyConsent: true,
			Tier: tier, EnrolledAt: timestamppb.Now()})
	}
	e.WaitHandled(service.ConsumerMembers, last)
}

func TestTriggerRulesAreManagedThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := testkit.Ctx(t)
	c := e.rules()

	// The seeded rules: today's behaviour, and before it (by priority) the follow-up
	// survey of a resolved case.
	list, err := c.ListTriggerRules(ctx, &surveyv1.ListTriggerRulesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetRules()) != 2 || list.GetRules()[0].GetTriggerId() != "0192f0c8-5a1e-7000-8000-0000000000a2" ||
		list.GetRules()[1].GetTriggerId() != domain.SeedTriggerRuleID ||
		list.GetRules()[1].GetSpec().GetSamplingRate() != 1 || !list.GetRules()[1].GetActive() {
		t.Fatalf("rules = %v, want the seeded ones", list.GetRules())
	}

	s := spec("CSAT after a reward", commonv1.Touchpoint_TOUCHPOINT_REWARD_DELIVERED)
	s.Condition = `touchpoint.store == "S1" && member.tier in ["gold", "silver"]`
	s.Delay = durationpb.New(48 * time.Hour)
	s.SamplingRate = 0.5
	req := &surveyv1.CreateTriggerRuleRequest{IdempotencyKey: "create-reward-rule", Spec: s, Active: true}
	first, err := c.CreateTriggerRule(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r := first.GetRule()
	if r.GetVersion() != 1 || !r.GetActive() || r.GetSpec().GetDelay().AsDuration() != 48*time.Hour || r.GetSpec().GetCondition() != s.Condition {
		t.Errorf("created %v", r)
	}
	again, err := c.CreateTriggerRule(ctx, req) // a retry
	if err != nil || again.GetRule().GetTriggerId() != r.GetTriggerId() {
		t.Errorf("retry = %v, %v; want the same rule", again.GetRule(), err)
	}
	other := &surveyv1.CreateTriggerRuleRequest{IdempotencyKey: req.GetIdempotencyKey(), Spec: spec("another rule"), Active: true}
	_, err = c.CreateTriggerRule(ctx, other)
	wantPrecondition(t, err, "IDEMPOTENCY_KEY_REUSED")

	// Conditions that do not compile, or are not bool, are refused with their position.
	for _, cond := range []string{`touchpoint.store == `, `touchpoint.amount_minor + 1`, "touchpoint.store == \"S1\" &&\n  member.colour == \"red\""} {
		bad := spec("bad")
		bad.Condition = cond
		_, err := c.CreateTriggerRule(ctx, &surveyv1.CreateTriggerRuleRequest{IdempotencyKey: "bad-" + uuid.NewString(), Spec: bad})
		wantInvalidField(t, err, "spec.condition")
		if !strings.Contains(status.Convert(err).Message(), "line ") || !strings.Contains(status.Convert(err).Message(), "column ") {
			t.Errorf("%q: %v, want a line and column", cond, err)
		}
	}
	bad := spec("bad")
	bad.Condition = "touchpoint.store == \"S1\" &&\n  member.colour == \"red\""
	_, err = c.CreateTriggerRule(ctx, &surveyv1.CreateTriggerRuleRequest{IdempotencyKey: "bad-" + uuid.NewString(), Spec: bad})
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "line 2, column") {
		t.Errorf("an error on the second line: %q", msg)
	}
	// A survey that does not exist.
	bad = spec("bad")
	bad.SurveyId = uuid.NewString()
	_, err = c.CreateTriggerRule(ctx, &surveyv1.CreateTriggerRuleRequest{IdempotencyKey: "bad-" + uuid.NewString(), Spec: bad})
	wantInvalidField(t, err, "spec.survey_id")

	// An update is a new version; a bad one changes nothing.
	s.Priority = 7
	up, err := c.UpdateTriggerRule(ctx, &surveyv1.UpdateTriggerRuleRequest{TriggerId: r.GetTriggerId(), Spec: s})
	if err != nil || up.GetRule().GetVersion() != 2 || up.GetRule().GetSpec().GetPriority() != 7 {
		t.Errorf("update = %v, %v; want version 2 with priority 7", up.GetRule(), err)
	}
	_, err = c.UpdateTriggerRule(ctx, &surveyv1.UpdateTriggerRuleRequest{TriggerId: r.GetTriggerId(), Spec: bad})
	wantInvalidField(t, err, "spec.survey_id")
	_, err = c.UpdateTriggerRule(ctx, &surveyv1.UpdateTriggerRuleRequest{TriggerId: uuid.NewString(), Spec: s})
	if status.Code(err) != codes.NotFound {
		t.Errorf("update of an unknown rule: %v, want NotFound", err)
	}

	off, err := c.SetTriggerRuleActive(ctx, &surveyv1.SetTriggerRuleActiveRequest{TriggerId: r.GetTriggerId(), Active: false})
	if err != nil || off.GetRule().GetActive() || off.GetRule().GetVersion() != 2 {
		t.Errorf("deactivate = %v, %v", off.GetRule(), err)
	}
	got, err := c.GetTriggerRule(ctx, &surveyv1.GetTriggerRuleRequest{TriggerId: r.GetTriggerId()})
	if err != nil || got.GetRule().GetActive() || got.GetRule().GetSpec().GetSamplingRate() != 0.5 {
		t.Errorf("get = %v, %v", got.GetRule(), err)
	}
	active, _ := c.ListTriggerRules(ctx, &surveyv1.ListTriggerRulesRequest{})
	all, _ := c.ListTriggerRules(ctx, &surveyv1.ListTriggerRulesRequest{IncludeInactive: true})
	if len(active.GetRules()) != 2 || len(all.GetRules()) != 3 {
		t.Errorf("%d active and %d rules in all, want 2 and 3", len(active.GetRules()), len(all.GetRules()))
	}

	// Marketing may manage rules; a service agent may not.
	if _, err := surveyv1.NewTriggerServiceClient(e.Conn(e.api, "service_agent")).ListTriggerRules(ctx, &surveyv1.ListTriggerRulesRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("service agent listing rules: %v, want PermissionDenied", err)
	}
}

// A rule with a delay schedules the invitation for later, and the touchpoint's
// attribution travels on the invitation.
func TestRuleWithDelaySchedulesWithAttribution(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.onlyRules()
	s := spec("NPS two days after a service call", commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL)
	s.Delay = durationpb.New(48 * time.Hour)
	rule := e.createRule(s)
	member := uuid.NewString()
	e.enroll(member, "de", true)

	occurred := time.Now().Add(-time.Hour).Truncate(time.Second)
	c := &touchpointv1.ContactRecorded{EventId: uuid.NewString(), MemberId: member, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL,
		StoreId: "S7", Reference: "TICKET-1", OccurredAt: timestamppb.New(occurred), EmployeeId: "E-42",
		Channel: commonv1.Channel_CHANNEL_STORE}
	e.contact(c)
	inv := e.invitationFor(member)
	wantDue := occurred.Add(48 * time.Hour)
	if got := inv.GetDueAt().AsTime(); !got.Equal(wantDue) {
		t.Errorf("due at %v, want %v", got, wantDue)
	}
	if got := inv.GetExpiresAt().AsTime(); !got.Equal(wantDue.Add(service.DefaultLinkTTL)) {
		t.Errorf("expires at %v, want %v", got, wantDue.Add(service.DefaultLinkTTL))
	}
	if inv.GetTriggerId() != rule.GetTriggerId() || inv.GetSurveyVersion() != 1 || inv.GetEmployeeId() != "E-42" ||
		inv.GetChannel() != commonv1.Channel_CHANNEL_STORE || inv.GetStoreId() != "S7" ||
		inv.GetTouchpointKey() != "touchpoint:"+c.GetEventId() || inv.GetTriggerEventId() != c.GetEventId() {
		t.Errorf("invitation = %v", inv)
	}
	if n := e.db.Count(`SELECT count(*) FROM invitations WHERE member_id = $1 AND status = 'SCHEDULED'
		AND channels = '{EMAIL}' AND employee_id = 'E-42' AND sales_channel = 'STORE' AND trigger_id = $2::uuid`,
		member, rule.GetTriggerId()); n != 1 {
		t.Errorf("%d scheduled invitations with the rule's channels and the attribution, want 1", n)
	}
	// A sales call matches no rule: nothing, and nothing recorded.
	e.contact(&touchpointv1.ContactRecorded{EventId: uuid.NewString(), MemberId: member,
		Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SALES_CALL, OccurredAt: timestamppb.Now()})
	if n := e.db.Count(`SELECT count(*) FROM suppressions`); n != 0 {
		t.Errorf("%d suppressions, want none (no rule matched)", n)
	}
}

// Sampling is deterministic per member and rule: a rate of 0.5 selects about half the
// members, and the same members whenever it is asked again.
func TestSamplingIsDeterministic(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *service.Config) { c.ContactInterval = 0 })
	e.onlyRules()
	s := spec("half of the web visits", commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT)
	s.SamplingRate = 0.5
	// A channel that reaches everyone: with email only (no SMTP here) the dispatcher
	// would suppress the scheduled ones as NO_CHANNEL while the test runs.
	s.Channels = []surveyv1.DeliveryChannel{surveyv1.DeliveryChannel_DELIVERY_CHANNEL_NONE}
	rule := e.createRule(s)
	members := make([]string, 200)
	for i := range members {
		members[i] = uuid.NewString()
	}
	e.enrollAll(members, "")

	pick := func() map[string]bool {
		chosen := map[string]bool{}
		for _, m := range members {
			resp := e.record(&surveyv1.RecordTouchpointRequest{MemberId: m, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT})
			switch resp.GetOutcome() {
			case "SCHEDULED":
				chosen[m] = true
			case "SAMPLED_OUT":
			default:
				t.Fatalf("outcome %q", resp.GetOutcome())
			}
		}
		return chosen
	}
	first := pick()
	if n := len(first); n < 70 || n > 130 {
		t.Errorf("%d of 200 members sampled at 0.5", n)
	}
	for _, m := range members {
		if first[m] != domain.Sampled(m, rule.GetTriggerId(), 0.5) {
			t.Errorf("member %s: chosen %v, the rule says %v", m, first[m], !first[m])
		}
	}
	second := pick()
	if len(second) != len(first) {
		t.Errorf("replay chose %d members, first %d", len(second), len(first))
	}
	for m := range first {
		if !second[m] {
			t.Errorf("member %s chosen first, not on replay", m)
		}
	}
	if n := e.db.Count(`SELECT count(*) FROM suppressions`); n != 0 {
		t.Errorf("%d suppressions, want none: sampled-out touchpoints are only counted", n)
	}
}

// The highest priority among the matching active rules decides; a condition reads the
// touchpoint and the member.
func TestRulePriorityAndConditions(t *testing.T) {
	t.Parallel()
	e := start(t)
	general := spec("every service call", commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL)
	general.Priority = 5
	generalRule := e.createRule(general)
	big := spec("big service calls")
	big.Condition = `touchpoint.amount_minor >= 10000 && touchpoint.currency == "EUR"`
	big.Priority = 10
	bigRule := e.createRule(big)
	gold := spec("gold members")
	gold.Condition = `member.tier == "gold" || "vip" in member.tags`
	gold.Priority = 20
	goldRule := e.createRule(gold)
	inactive := spec("switched off")
	inactive.Priority = 100
	off := e.createRule(inactive)
	if _, err := e.rules().SetTriggerRuleActive(testkit.Ctx(t), &surveyv1.SetTriggerRuleActiveRequest{TriggerId: off.GetTriggerId()}); err != nil {
		t.Fatal(err)
	}

	plain, rich, goldMember, webVisitor := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	e.enrollAll([]string{plain, rich, webVisitor}, "")
	e.enrollAll([]string{goldMember}, "gold")

	for _, c := range []struct {
		member string
		req    *surveyv1.RecordTouchpointRequest
		want   string
	}{
		{plain, &surveyv1.RecordTouchpointRequest{AmountMinor: 500, Currency: "EUR"}, generalRule.GetTriggerId()},
		{rich, &surveyv1.RecordTouchpointRequest{AmountMinor: 25000, Currency: "EUR"}, bigRule.GetTriggerId()},
		{goldMember, &surveyv1.RecordTouchpointRequest{AmountMinor: 25000, Currency: "EUR"}, goldRule.GetTriggerId()},
		// Not a service call, not big: the seeded rule (priority 0, for all touchpoints).
		{webVisitor, &surveyv1.RecordTouchpointRequest{Touchpoint: commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT}, domain.SeedTriggerRuleID},
	} {
		c.req.MemberId = c.member
		resp := e.record(c.req)
		if got := resp.GetInvitation().GetTriggerId(); resp.GetOutcome() != "SCHEDULED" || got != c.want {
			t.Errorf("member %s: %q by rule %s, want SCHEDULED by %s", c.member, resp.GetOutcome(), got, c.want)
		}
	}
}

// RecordTouchpoint is idempotent by event id, and only role service reads the link.
func TestRecordTouchpointIsIdempotent(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := uuid.NewString()
	e.enroll(member, "en", true)
	req := &surveyv1.RecordTouchpointRequest{EventId: uuid.NewString(), MemberId: member, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_REWARD_DELIVERED,
		StoreId: "S1", EmployeeId: "E-1", Channel: commonv1.Channel_CHANNEL_WEB}
	first := e.record(req)
	second := e.record(req)
	if first.GetOutcome() != "SCHEDULED" || second.GetOutcome() != "SCHEDULED" ||
		first.GetInvitation().GetInvitationId() == "" || second.GetInvitation().GetInvitationId() != first.GetInvitation().GetInvitationId() {
		t.Fatalf("first %v, second %v; want the same scheduled invitation", first, second)
	}
	if first.GetInvitation().GetUrl() == "" || first.GetInvitation().GetStatus() != surveyv1.InvitationStatus_INVITATION_STATUS_SCHEDULED ||
		first.GetInvitation().GetEmployeeId() != "E-1" {
		t.Errorf("invitation = %v", first.GetInvitation())
	}
	if n := e.invitationsOf(member); n != 1 {
		t.Errorf("%d invitations, want 1", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM suppressions`); n != 0 {
		t.Errorf("%d suppressions, want none", n)
	}
	// An admin sees the invitation without its link.
	resp, err := e.admin.RecordTouchpoint(testkit.Ctx(t), req)
	if err != nil || resp.GetInvitation().GetInvitationId() != first.GetInvitation().GetInvitationId() || resp.GetInvitation().GetUrl() != "" {
		t.Errorf("admin: %v, %v", resp, err)
	}
	// A second touchpoint within the interval: held back, and once only.
	capped := &surveyv1.RecordTouchpointRequest{EventId: uuid.NewString(), MemberId: member}
	for range 2 {
		if got := e.record(capped).GetOutcome(); got != "SUPPRESSED_FREQUENCY_CAP" {
			t.Errorf("outcome %q, want SUPPRESSED_FREQUENCY_CAP", got)
		}
	}
	if n := e.db.Count(`SELECT count(*) FROM suppressions WHERE member_id = $1`, member); n != 1 {
		t.Errorf("%d suppressions, want 1", n)
	}
	// A member not known yet: parked.
	if got := e.record(&surveyv1.RecordTouchpointRequest{MemberId: uuid.NewString()}).GetOutcome(); got != "PARKED" {
		t.Errorf("unknown member: %q, want PARKED", got)
	}
}
