package e2e

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	ledger "github.com/treue/treue/services/ledger/service"
	survey "github.com/treue/treue/services/survey/service"
)

// The seeded follow-up survey of a resolved case and its rule (survey migration 00006).
const (
	resurveySurvey = "0192f0c8-5a1e-7000-8000-000000000004"
	resurveyRule   = "0192f0c8-5a1e-7000-8000-0000000000a2"
)

// TestClosedLoopEndToEnd: what the loop does for the customer, with the ledger, the
// survey and the feedback service together, a real SMTP server and the survey's web
// page over HTTP:
//
//   - the member enrols and has a referral code;
//   - asked after a service call, she answers 2: the feedback service opens a call-back;
//   - the agent resolves it with 300 goodwill points: the ledger books them once (the
//     resolve retried, the grant redelivered), from program:goodwill;
//   - the resolution sends "Did we solve your problem?" by email, although she was asked
//     moments before (the rule passes the frequency cap); she answers it; the answer is
//     linked to the case and opens no new case;
//   - a promoter answer of hers opens a referral request that carries her referral code.
func TestClosedLoopEndToEnd(t *testing.T) {
	mailbox := testkit.StartSMTP(t)
	sys := &system{Env: testkit.NewEnv(t)}
	sys.tuneSurvey = func(c *survey.Config) {
		c.Delivery.SMTPAddr = mailbox.Addr()
		c.Delivery.MailFrom = "Treue <surveys@treue.example>"
	}
	sys.tuneLedger = func(c *ledger.Config) { c.GoodwillBudget = 10_000 }
	startIn(t, sys)
	ctx := context.Background()
	ledgerAPI := ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "admin"))
	surveyAPI := surveyv1.NewSurveyServiceClient(sys.Conn(sys.survey, "service"))
	triggers := surveyv1.NewTriggerServiceClient(sys.Conn(sys.survey, "marketing"))
	agent := feedbackv1.NewFeedbackServiceClient(sys.Conn(sys.feedback, "service_agent"))

	// The follow-up survey waits an hour in production; a second here.
	seeded, err := triggers.GetTriggerRule(ctx, &surveyv1.GetTriggerRuleRequest{TriggerId: resurveyRule})
	must(t, err)
	spec := seeded.GetRule().GetSpec()
	if !spec.GetExemptFromFrequencyCap() || spec.GetDelay().AsDuration() != time.Hour || spec.GetSurveyId() != resurveySurvey {
		t.Fatalf("seeded re-survey rule %v", seeded.GetRule())
	}
	spec.Delay = durationpb.New(time.Second)
	_, err = triggers.UpdateTriggerRule(ctx, &surveyv1.UpdateTriggerRuleRequest{TriggerId: resurveyRule, Spec: spec})
	must(t, err)

	zone := dayZone(t)
	enrolled, err := ledgerAPI.Enroll(ctx, &ledgerv1.EnrollRequest{
		IdempotencyKey: "e2e-loop-eva", DisplayName: "Eva", Email: "eva@example.com", Locale: "de", SurveyConsent: true, TimeZone: zone,
	})
	must(t, err)
	eva, code := enrolled.GetMember().GetMemberId(), enrolled.GetMember().GetReferralCode()
	if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{8}$`).MatchString(code) {
		t.Fatalf("referral code %q", code)
	}
	testkit.Eventually(t, 20*time.Second, "the survey knows Eva", func() bool {
		return sys.db.Count(`SELECT count(*) FROM survey.members WHERE member_id = $1 AND email <> ''`, eva) == 1
	})

	// 1. A service call; the seeded rule asks at once; she answers 2 on the page.
	_, err = surveyAPI.RecordTouchpoint(ctx, &surveyv1.RecordTouchpointRequest{
		EventId: uuid.NewString(), MemberId: eva, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL, StoreId: "berlin-01",
	})
	must(t, err)
	first := mailbox.WaitFor(t, func(m testkit.Mail) bool { return len(m.To) == 1 && m.To[0] == "eva@example.com" }, 30*time.Second)
	postForm(t, linkIn(t, first.Text, "http://"+sys.surveyHTTP+"/s/"), url.Values{
		"q.nps": {"2"}, "q.reason": {"Niemand hat zurückgerufen."}, "_shown": {"nps reason"},
	})
	var callback *feedbackv1.Case
	testkit.Eventually(t, 20*time.Second, "a call-back case for Eva", func() bool {
		callback = caseOfMember(t, agent, eva, feedbackv1.CaseKind_CASE_KIND_CALLBACK)
		return callback != nil
	})

	// 2. Resolved with 300 goodwill points: booked once, however often asked.
	before := balance(t, ledgerAPI, eva).GetAvailable()
	resolve := &feedbackv1.ResolveCaseRequest{CaseId: callback.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
		Note: "called back, refunded the delivery fee", GoodwillPoints: 300, GoodwillReason: "sorry for the wait"}
	_, err = agent.ResolveCase(ctx, resolve)
	must(t, err)
	_, err = agent.ResolveCase(ctx, resolve)
	if grpcx.Reason(err) != "ALREADY_RESOLVED" {
		t.Errorf("the resolve retried: %v", err)
	}
	testkit.Eventually(t, 20*time.Second, "300 goodwill points", func() bool {
		return balance(t, ledgerAPI, eva).GetAvailable() == before+300
	})
	// The grant delivered again (another event id): nothing more.
	grants := testkit.Events[*feedbackv1.GoodwillGranted](sys.Env, "feedback.goodwill.granted")
	if len(grants) != 1 || grants[0].GetMemberId() != eva || grants[0].GetPoints() != 300 || grants[0].GetRole() != "service_agent" {
		t.Fatalf("grants %v", grants)
	}
	sys.WaitHandled(ledger.ConsumerGoodwill, sys.PublishEvent(uuid.NewString(), grants[0]))
	if got := balance(t, ledgerAPI, eva).GetAvailable(); got != before+300 {
		t.Errorf("available %d after the redelivery, want %d", got, before+300)
	}
	if n := sys.db.Count(`SELECT count(*) FROM ledger.transactions WHERE reason = 'goodwill' AND member_id = $1`, eva); n != 1 {
		t.Errorf("%d goodwill transactions, want 1", n)
	}
	if n := sys.db.Count(`SELECT count(*) FROM ledger.postings p JOIN ledger.transactions t ON t.id = p.transaction_id
		WHERE t.idempotency_key = 'goodwill:' || $1::text AND p.source = 'program:goodwill' AND p.amount = 300`, callback.GetCaseId()); n != 1 {
		t.Errorf("the goodwill is not one posting of 300 from program:goodwill keyed by the case")
	}

	// 3. "Did we solve your problem?" by email, though she was asked moments ago.
	second := mailbox.WaitFor(t, func(m testkit.Mail) bool {
		return len(m.To) == 1 && m.To[0] == "eva@example.com" && m.Subject == "Haben wir Ihr Problem gelöst?"
	}, 30*time.Second)
	link := linkIn(t, second.Text, "http://"+sys.surveyHTTP+"/s/")
	if page := httpGet(t, link); !strings.Contains(page, "Ist Ihr Problem gelöst?") || !strings.Contains(page, "Wie zufrieden sind Sie damit, wie wir es gelöst haben?") {
		t.Errorf("the follow-up page:\n%s", page)
	}
	postForm(t, link, url.Values{"q.solved": {"yes"}, "q.csat": {"5"}, "_shown": {"solved csat"}})
	testkit.Eventually(t, 20*time.Second, "the answer linked to the case", func() bool {
		got, err := agent.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: callback.GetCaseId()})
		must(t, err)
		c := got.GetCase()
		return c.GetFollowUpResponseId() != "" && c.GetFollowUpScore() == 5 && c.GetFollowUpSolved() == "yes" &&
			c.GetFollowUpScoreKind() == commonv1.ScoreKind_SCORE_KIND_CSAT
	})
	followUps := testkit.Events[*feedbackv1.CaseFollowUpReceived](sys.Env, "feedback.case.follow_up_received")
	if len(followUps) != 1 || followUps[0].GetCaseId() != callback.GetCaseId() || !followUps[0].GetSatisfied() {
		t.Errorf("follow-up events %v", followUps)
	}
	responses := testkit.Events[*surveyv1.ResponseSubmitted](sys.Env, "survey.response.submitted")
	if len(responses) != 2 || responses[1].GetTouchpointKey() != "case:"+callback.GetCaseId() || responses[1].GetSurveyId() != resurveySurvey {
		t.Errorf("responses %v", responses)
	}

	// 4. A promoter answer (published as the survey does): a referral request with her code.
	promoter := &surveyv1.ResponseSubmitted{
		ResponseId: uuid.NewString(), InvitationId: uuid.NewString(), SurveyId: npsSurvey, MemberId: eva,
		Touchpoint: commonv1.Touchpoint_TOUCHPOINT_PURCHASE, StoreId: "berlin-01", Score: 10,
		NpsClass: commonv1.NpsClass_NPS_CLASS_PROMOTER, SubmittedAt: timestamppb.Now(), ScoreKind: commonv1.ScoreKind_SCORE_KIND_NPS,
	}
	sys.PublishEvent(promoter.GetResponseId(), promoter)
	var referral *feedbackv1.Case
	testkit.Eventually(t, 20*time.Second, "a referral request for Eva", func() bool {
		referral = caseOfMember(t, agent, eva, feedbackv1.CaseKind_CASE_KIND_REFERRAL_REQUEST)
		return referral != nil
	})
	if referral.GetReferralCode() != code {
		t.Errorf("referral request carries %q, want %q", referral.GetReferralCode(), code)
	}
	// The follow-up answer opened no case: a call-back and the referral request.
	list, err := agent.ListCases(ctx, &feedbackv1.ListCasesRequest{PageSize: 500})
	must(t, err)
	n := 0
	for _, c := range list.GetCases() {
		if c.GetMemberId() == eva {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d cases of Eva, want 2", n)
	}
}

// caseOfMember is the member's case of kind, or nil.
func caseOfMember(t *testing.T, api feedbackv1.FeedbackServiceClient, member string, kind feedbackv1.CaseKind) *feedbackv1.Case {
	t.Helper()
	list, err := api.ListCases(context.Background(), &feedbackv1.ListCasesRequest{PageSize: 500})
	must(t, err)
	for _, c := range list.GetCases() {
		if c.GetMemberId() == member && c.GetKind() == kind {
			return c
		}
	}
	return nil
}
