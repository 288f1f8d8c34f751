package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/pkg/testkit/browser"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	feedback "github.com/treue/treue/services/feedback/service"
)

var couponCode = regexp.MustCompile(`[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}`)

// TestGoodwillRewardEndToEnd: a coupon reward granted as goodwill, with the ledger, the
// rewards and the feedback service together and a real SMTP server:
//
//   - the inbox offers the active rewards to a team lead, none to an agent; a service
//     agent's key may not grant a reward (PermissionDenied naming the field);
//   - the team lead resolves a detractor's call-back with a reward in the inbox, in
//     headless Chromium: the member gets one email
//     (in German) with the code, the code is valid at the till, the case shows the
//     coupon and its history the issue; no points are spent or booked;
//   - the worker's call made again (as after a crash before its record) gets the same
//     coupon and code from the rewards service, and still one coupon exists; after the
//     rewards service's retry window it gets no code, and the case says "not emailed";
//   - the case reopened refuses a second goodwill grant; resolving without goodwill works;
//   - an inactive reward is refused by the rewards service, visibly on the case.
func TestGoodwillRewardEndToEnd(t *testing.T) {
	mailbox := testkit.StartSMTP(t)
	sys := &system{Env: testkit.NewEnv(t)}
	sys.tuneFeedback = func(c *feedback.Config) {
		c.Lifecycle.SMTPAddr = mailbox.Addr()
		c.Lifecycle.MailFrom = "Treue <service@treue.example>"
		c.GoodwillRewards.Interval = 100 * time.Millisecond
		c.GoodwillRewards.Backoff = 200 * time.Millisecond
		c.Base.HTTPAddr = "127.0.0.1:0" // the agent's inbox
	}
	startIn(t, sys)
	ctx := context.Background()
	ledgerAPI := ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "admin"))
	agent := feedbackv1.NewFeedbackServiceClient(sys.Conn(sys.feedback, "service_agent"))
	admin := feedbackv1.NewFeedbackServiceClient(sys.Conn(sys.feedback, "admin"))
	rewardsAdmin := rewardsv1.NewRewardsServiceClient(sys.Conn(sys.rewards, "admin"))

	coffee, err := rewardsAdmin.CreateReward(ctx, &rewardsv1.CreateRewardRequest{Name: "Kaffee-Gutschein",
		Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON, PointsPrice: 400, ValueMinor: 500, Currency: "EUR", ValidDays: 30})
	must(t, err)
	retired, err := rewardsAdmin.CreateReward(ctx, &rewardsv1.CreateRewardRequest{Name: "Old voucher",
		Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON, PointsPrice: 100, ValueMinor: 100, Currency: "EUR", ValidDays: 30})
	must(t, err)
	_, err = sys.db.Exec(ctx, `UPDATE rewards.rewards SET active = false WHERE reward_id = $1`, retired.GetReward().GetRewardId())
	must(t, err)

	eva := enrol(t, ledgerAPI, "eva", "de")
	testkit.Eventually(t, 20*time.Second, "the feedback service knows Eva's email", func() bool {
		return sys.db.Count(`SELECT count(*) FROM feedback.members WHERE member_id = $1 AND email = 'eva@example.com'`, eva) == 1
	})
	detractor := func() *feedbackv1.Case {
		t.Helper()
		ev := detractorResponse(eva)
		sys.PublishEvent(ev.GetResponseId(), ev)
		var c *feedbackv1.Case
		testkit.Eventually(t, 20*time.Second, "a call-back for the detractor", func() bool {
			list, err := admin.ListCases(ctx, &feedbackv1.ListCasesRequest{PageSize: 500})
			must(t, err)
			for _, x := range list.GetCases() {
				if x.GetResponseId() == ev.GetResponseId() {
					c = x
				}
			}
			return c != nil
		})
		return c
	}
	callback := detractor()
	before := balance(t, ledgerAPI, eva).GetAvailable()
	resolve := func(api feedbackv1.FeedbackServiceClient, caseID, reward string, points int64) error {
		_, err := api.ResolveCase(ctx, &feedbackv1.ResolveCaseRequest{CaseId: caseID,
			Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED, GoodwillRewardId: reward, GoodwillPoints: points,
			GoodwillReason: "Entschuldigung für die Wartezeit"})
		return err
	}

	// The inbox offers the active rewards to a team lead, none to an agent.
	teams := feedbackv1.NewTeamServiceClient(sys.Conn(sys.feedback, "admin"))
	team, err := teams.GetTeam(ctx, &feedbackv1.GetTeamRequest{Team: callback.GetTeam()})
	must(t, err)
	for _, s := range []struct {
		email string
		role  feedbackv1.StaffRole
	}{{"lena@shop.example", feedbackv1.StaffRole_STAFF_ROLE_TEAM_LEAD}, {"ada@shop.example", feedbackv1.StaffRole_STAFF_ROLE_AGENT},
		{"max@shop.example", feedbackv1.StaffRole_STAFF_ROLE_MANAGER}} {
		_, err := teams.AddStaff(ctx, &feedbackv1.AddStaffRequest{IdempotencyKey: "e2e-staff-" + s.email, TeamId: team.GetTeam().GetTeamId(),
			Name: s.email, Email: s.email, Role: s.role})
		must(t, err)
	}
	inbox, casePath := "http://"+sys.feedbackHTTP, "/cases/"+callback.GetCaseId()
	page := staffGetAs(t, sys.DatabaseURL(), inbox, casePath, "lena@shop.example", "service_agent")
	if !strings.Contains(page, `id="goodwill-reward-select"`) || !strings.Contains(page, "Kaffee-Gutschein (5.00 EUR)") || strings.Contains(page, "Old voucher") {
		t.Errorf("a team lead's case page offers no coupon (or an inactive one):\n%s", page)
	}
	if page := staffGetAs(t, sys.DatabaseURL(), inbox, casePath, "ada@shop.example", "service_agent"); strings.Contains(page, "goodwill-reward-select") {
		t.Errorf("an agent's case page offers a coupon")
	}

	// 1. A service agent may not grant a reward; the case stays open.
	err = resolve(agent, callback.GetCaseId(), coffee.GetReward().GetRewardId(), 0)
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), "goodwill_reward_id") {
		t.Fatalf("a service agent's reward: %v", err)
	}

	// 2. Lena, the team lead, grants the coffee voucher in the inbox, in Chromium: one
	// email with the code.
	tab := browser.New(t, browser.DesktopWidth, browser.DesktopHeight)
	browser.Do(t, tab, "signing in as the team lead",
		chromedp.Navigate(inbox+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SetValue(chromedp.CSS(`#username`), "lena@shop.example"),
		chromedp.SetValue(chromedp.CSS(`#password`), "a long enough e2e password"),
		chromedp.Submit(chromedp.CSS(`#login`)),
		chromedp.WaitVisible(chromedp.CSS(`#counts`)),
		chromedp.Navigate(inbox+casePath),
		chromedp.WaitVisible(chromedp.CSS(`#resolve-form`)),
		chromedp.SetValue(chromedp.CSS(`#outcome-select`), "CONTACTED_RESOLVED"),
		chromedp.SetValue(chromedp.CSS(`#goodwill-reward-select`), coffee.GetReward().GetRewardId()),
		chromedp.SetValue(chromedp.CSS(`#goodwill-reason`), "Entschuldigung für die Wartezeit"),
	)
	browser.Submit(t, tab, `#resolve-form button`)
	browser.Do(t, tab, "back to the queue", chromedp.WaitVisible(chromedp.CSS(`#counts`)))
	toEva := func(m testkit.Mail) bool {
		return len(m.To) == 1 && m.To[0] == "eva@example.com" && m.Subject == "Ein Gutschein als Entschuldigung"
	}
	mail := mailbox.WaitFor(t, toEva, 30*time.Second)
	code := couponCode.FindString(mail.Text)
	if code == "" || !strings.Contains(mail.Text, "Kaffee-Gutschein (5,00 EUR)") || !strings.Contains(mail.Text, "Guten Tag eva") {
		t.Fatalf("the coupon email:\n%s", mail.Text)
	}
	valid, err := rewardsAdmin.ValidateCoupon(ctx, &rewardsv1.ValidateCouponRequest{Code: code, TerminalId: "till-1", StoreId: "berlin-01"})
	must(t, err)
	if !valid.GetValid() || valid.GetRewardName() != "Kaffee-Gutschein" || valid.GetValueMinor() != 500 {
		t.Errorf("the emailed code at the till: %v", valid)
	}
	var got *feedbackv1.Case
	testkit.Eventually(t, 10*time.Second, "the coupon on the case", func() bool {
		resp, err := admin.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: callback.GetCaseId()})
		must(t, err)
		got = resp.GetCase()
		return got.GetGoodwillReward().GetStatus() == "emailed"
	})
	g := got.GetGoodwillReward()
	if g.GetCouponId() == "" || g.GetRewardName() != "Kaffee-Gutschein" || g.GetValueMinor() != 500 || g.GetExpiresAt() == nil ||
		g.GetAttempts() != 1 || g.GetError() != "" {
		t.Errorf("the case's goodwill reward %v", g)
	}
	if !historyHas(got, "goodwill_reward", "its code was emailed") {
		t.Errorf("history %v", got.GetHistory())
	}
	if page := staffGetAs(t, sys.DatabaseURL(), inbox, casePath, "max@shop.example", "service_agent"); !strings.Contains(page, `id="goodwill-reward"`) ||
		!strings.Contains(page, "emailed</span> — Kaffee-Gutschein") {
		t.Errorf("the case page does not show the coupon:\n%s", page)
	}
	// The member's export has the coupon, never its code; no table of the feedback
	// service holds the code.
	export, err := privacyv1.NewPrivacyServiceClient(sys.Conn(sys.feedback, "privacy")).ExportMember(ctx, &privacyv1.ExportMemberRequest{MemberId: eva})
	must(t, err)
	if text := prototext.Format(export); !strings.Contains(text, g.GetCouponId()) || strings.Contains(text, code) {
		t.Errorf("the export %s", text)
	}
	if n := sys.db.Count(`SELECT count(*) FROM feedback.goodwill_grants g WHERE g::text LIKE '%' || $1 || '%'`, code); n != 0 {
		t.Errorf("the code is stored in feedback.goodwill_grants")
	}
	// The events name the coupon, never its code.
	issued := testkit.Events[*feedbackv1.GoodwillRewardIssued](sys.Env, "feedback.goodwill.reward_issued")
	if len(issued) != 1 || !issued[0].GetEmailed() || issued[0].GetCouponId() != g.GetCouponId() || strings.Contains(prototext.Format(issued[0]), code) {
		t.Errorf("reward issued events %v", issued)
	}
	coupons := testkit.Events[*rewardsv1.CouponIssued](sys.Env, "rewards.coupon.issued")
	if len(coupons) != 1 || coupons[0].GetGoodwillCaseId() != callback.GetCaseId() || coupons[0].GetCouponId() != g.GetCouponId() {
		t.Errorf("coupon issued events %v", coupons)
	}
	if n := len(testkit.Events[*rewardsv1.RedemptionCompleted](sys.Env, "rewards.redemption.completed")); n != 0 {
		t.Errorf("%d redemptions completed: a goodwill coupon has no hold to capture", n)
	}
	grants := testkit.Events[*feedbackv1.GoodwillGranted](sys.Env, "feedback.goodwill.granted")
	if len(grants) != 1 || grants[0].GetPoints() != 0 || grants[0].GetRewardId() != coffee.GetReward().GetRewardId() ||
		grants[0].GetRole() != "team_lead" || grants[0].GetGrantedBy() != "lena@shop.example" {
		t.Fatalf("grants %v", grants)
	}
	// The ledger reads the grant and books nothing: no points spent, none granted.
	sys.WaitHandled("ledger-goodwill", sys.PublishEvent(uuid.NewString(), grants[0]))
	if got := balance(t, ledgerAPI, eva).GetAvailable(); got != before {
		t.Errorf("available %d after a goodwill coupon, want %d", got, before)
	}
	if n := sys.db.Count(`SELECT count(*) FROM ledger.transactions WHERE member_id = $1 AND reason = 'goodwill'`, eva); n != 0 {
		t.Errorf("%d goodwill transactions in the ledger", n)
	}
	if n := sys.db.Count(`SELECT count(*) FROM rewards.redemptions WHERE member_id = $1 AND points = 0 AND goodwill_case_id = $2 AND hold_id IS NULL`,
		eva, callback.GetCaseId()); n != 1 {
		t.Errorf("%d goodwill redemptions without points or hold, want 1", n)
	}

	// 3. The resolve retried is refused; the worker's call made again (its record lost,
	// as in a crash) gets the same coupon and the same code.
	if err := resolve(admin, callback.GetCaseId(), coffee.GetReward().GetRewardId(), 0); grpcx.Reason(err) != "ALREADY_RESOLVED" {
		t.Errorf("the resolve retried: %v", err)
	}
	_, err = sys.db.Exec(ctx, `UPDATE feedback.goodwill_grants SET reward_status = 'pending', next_attempt_at = now() WHERE case_id = $1`, callback.GetCaseId())
	must(t, err)
	testkit.Eventually(t, 30*time.Second, "the code emailed again", func() bool {
		n := 0
		for _, m := range mailbox.Messages() {
			if toEva(m) {
				n++
				if c := couponCode.FindString(m.Text); c != code {
					t.Fatalf("the retry emailed code %q, want %q", c, code)
				}
			}
		}
		return n == 2
	})
	if n := sys.db.Count(`SELECT count(*) FROM rewards.coupons WHERE member_id = $1`, eva); n != 1 {
		t.Errorf("%d coupons after the retried call, want 1", n)
	}

	// After the rewards service's retry window (its sealed code wiped) a call made again
	// gets the coupon without its code: the case says so, nothing is emailed.
	_, err = sys.db.Exec(ctx, `UPDATE rewards.redemptions SET sealed_code = NULL, sealed_code_until = NULL WHERE goodwill_case_id = $1`, callback.GetCaseId())
	must(t, err)
	_, err = sys.db.Exec(ctx, `UPDATE feedback.goodwill_grants SET reward_status = 'pending', next_attempt_at = now() WHERE case_id = $1`, callback.GetCaseId())
	must(t, err)
	testkit.Eventually(t, 10*time.Second, "issued, code not emailed", func() bool {
		resp, err := admin.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: callback.GetCaseId()})
		must(t, err)
		got = resp.GetCase()
		return got.GetGoodwillReward().GetStatus() == "not_emailed"
	})
	if g := got.GetGoodwillReward(); g.GetCouponId() != coupons[0].GetCouponId() || !strings.Contains(g.GetError(), "no longer shows the code") {
		t.Errorf("the reward after the window %v", g)
	}
	if !historyHas(got, "goodwill_reward", "code NOT emailed") {
		t.Errorf("history %v", got.GetHistory())
	}

	// 4. Reopened, the case grants no second goodwill; resolving without any works.
	_, err = admin.ReopenCase(ctx, &feedbackv1.ReopenCaseRequest{CaseId: callback.GetCaseId(), Note: "the customer called again"})
	must(t, err)
	err = resolve(admin, callback.GetCaseId(), "", 50)
	if status.Code(err) != codes.FailedPrecondition || grpcx.Reason(err) != "GOODWILL_ALREADY_GRANTED" {
		t.Errorf("a second goodwill: %v", err)
	}
	must(t, resolve(admin, callback.GetCaseId(), "", 0))

	// 5. An inactive reward: the rewards service refuses, the case shows why, nothing is
	// emailed, no retry.
	second := detractor()
	must(t, resolve(admin, second.GetCaseId(), retired.GetReward().GetRewardId(), 0))
	testkit.Eventually(t, 10*time.Second, "the refusal on the case", func() bool {
		resp, err := admin.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: second.GetCaseId()})
		must(t, err)
		got = resp.GetCase()
		return got.GetGoodwillReward().GetStatus() == "refused"
	})
	if g := got.GetGoodwillReward(); !strings.Contains(g.GetError(), "REWARD_INACTIVE") || g.GetAttempts() != 1 || g.GetCouponId() != "" {
		t.Errorf("the refused reward %v", g)
	}
	if !historyHas(got, "goodwill_reward", "refused") {
		t.Errorf("history %v", got.GetHistory())
	}
	time.Sleep(500 * time.Millisecond)
	n := 0
	for _, m := range mailbox.Messages() {
		if toEva(m) {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d coupon emails, want the 2 of the first case", n)
	}
}

func historyHas(c *feedbackv1.Case, action, note string) bool {
	for _, h := range c.GetHistory() {
		if h.GetAction() == action && strings.Contains(h.GetNote(), note) {
			return true
		}
	}
	return false
}

// detractorResponse is a detractor's answer to the NPS survey, as the survey publishes it.
func detractorResponse(member string) *surveyv1.ResponseSubmitted {
	return &surveyv1.ResponseSubmitted{
		ResponseId: uuid.NewString(), InvitationId: uuid.NewString(), SurveyId: npsSurvey, MemberId: member,
		Touchpoint: commonv1.Touchpoint_TOUCHPOINT_PURCHASE, StoreId: "berlin-01", Score: 2, Comment: "Zu lange gewartet.",
		NpsClass: commonv1.NpsClass_NPS_CLASS_DETRACTOR, SubmittedAt: timestamppb.Now(), ScoreKind: commonv1.ScoreKind_SCORE_KIND_NPS,
	}
}
