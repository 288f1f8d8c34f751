// Package e2e runs the whole loop of the product with all five services on real NATS
// JetStream and Postgres, talking gRPC and HTTP over loopback.
package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/scripts/internal/possim"
	feedback "github.com/treue/treue/services/feedback/service"
	ledger "github.com/treue/treue/services/ledger/service"
	reporting "github.com/treue/treue/services/reporting/service"
	rewards "github.com/treue/treue/services/rewards/service"
	survey "github.com/treue/treue/services/survey/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// system is the five services running in one world.
type system struct {
	*testkit.Env
	db                                      *testkit.DB // every schema, by qualified names
	ledger, survey, feedback, rewards, rept string      // gRPC addresses
	surveyHTTP, dashboard, feedbackHTTP     string
	// tuneLedger, when set before startIn, adjusts the ledger's configuration: its clock
	// and points policy, say.
	tuneLedger func(*ledger.Config)
	// tuneSurvey, when set before startIn, adjusts the survey's configuration: its SMTP
	// server, say.
	tuneSurvey func(*survey.Config)
	// tuneFeedback, when set before startIn, adjusts the feedback service's
	// configuration: its SLA timings, SMTP server and webhook back-off, say.
	tuneFeedback func(*feedback.Config)
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs the five services in one world, each configured as in production apart
// from the world's addresses and keys.
func start(t *testing.T) *system { return startWith(t, nil) }

// startWith is start, with tune (when not nil) adjusting each service's base
// configuration.
func startWith(t *testing.T, tune func(service string, b *svc.Base)) *system {
	t.Helper()
	var opts []func(service string, b *svc.Base)
	if tune != nil {
		opts = append(opts, tune)
	}
	return startIn(t, &system{Env: testkit.NewEnv(t)}, opts...)
}

// startIn runs the five services in sys's world; each option changes a service's base
// configuration (its NATS server and credentials, say).
func startIn(t *testing.T, sys *system, opts ...func(service string, b *svc.Base)) *system {
	t.Helper()
	base := func(service string) svc.Base {
		b := sys.Base()
		for _, o := range opts {
			o(service, &b)
		}
		return b
	}

	lc, err := ledger.LoadConfig()
	must(t, err)
	lc.Base = base("ledger")
	// Points are spendable at once here, as the scenarios redeem what they just earned;
	// TestCampaignEndToEnd runs the return window (and expiry) on a clock of its own.
	lc.Lots.ReturnWindow = 0
	if sys.tuneLedger != nil {
		sys.tuneLedger(&lc)
	}
	sys.ledger = testkit.Start(t, ledger.New, lc).Service.GRPCAddr()

	sc, err := survey.LoadConfig()
	must(t, err)
	surveyHTTP := freeAddr(t)
	sc.Base = base("survey")
	sc.Base.HTTPAddr = surveyHTTP
	sc.PublicURL = "http://" + surveyHTTP
	sc.TokenSecret = strings.Repeat("s", 32)
	if sys.tuneSurvey != nil {
		sys.tuneSurvey(&sc)
	}
	s := testkit.Start(t, survey.New, sc).Service
	sys.survey, sys.surveyHTTP = s.GRPCAddr(), s.HTTPAddr()

	// Rewards before feedback: feedback asks it for goodwill coupons.
	rc, err := rewards.LoadConfig()
	must(t, err)
	rc.Base = base("rewards")
	rc.LedgerAddr, rc.ServiceAPIKey = sys.ledger, sys.Key("service")
	sys.rewards = testkit.Start(t, rewards.New, rc).Service.GRPCAddr()

	fc, err := feedback.LoadConfig()
	must(t, err)
	fc.Base = base("feedback")
	fc.Base.HTTPAddr = "127.0.0.1:0" // the agent's inbox
	fc.GoodwillRewards.RewardsAddr, fc.GoodwillRewards.APIKey = sys.rewards, sys.Key("goodwill")
	if sys.tuneFeedback != nil {
		sys.tuneFeedback(&fc)
	}
	f := testkit.Start(t, feedback.New, fc).Service
	sys.feedback, sys.feedbackHTTP = f.GRPCAddr(), f.HTTPAddr()

	pc, err := reporting.LoadConfig()
	must(t, err)
	pc.Base = base("reporting")
	pc.Base.HTTPAddr = "127.0.0.1:0"
	p := testkit.Start(t, reporting.New, pc).Service
	sys.rept, sys.dashboard = p.GRPCAddr(), p.HTTPAddr()

	sys.db = sys.DB("public")
	return sys
}

func (s *system) till(json bool) possim.Till {
	return possim.Till{JS: s.JS(), Namespace: s.NS(), JSON: json}
}

func TestWholeLoop(t *testing.T) {
	sys := start(t)
	ctx := context.Background()
	ledgerAPI := ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "admin"))
	surveyAPI := surveyv1.NewSurveyServiceClient(sys.Conn(sys.survey, "service"))
	feedbackAPI := feedbackv1.NewFeedbackServiceClient(sys.Conn(sys.feedback, "service_agent"))
	rewardsAdmin := rewardsv1.NewRewardsServiceClient(sys.Conn(sys.rewards, "admin"))
	tillAPI := rewardsv1.NewRewardsServiceClient(sys.Conn(sys.rewards, "pos"))
	reportAPI := reportingv1.NewReportingServiceClient(sys.Conn(sys.rept, "auditor"))

	// Two members enrol.
	anna := enrol(t, ledgerAPI, "anna", "en")
	ben := enrol(t, ledgerAPI, "ben", "de")

	// 1. Anna buys for 67.88 EUR: 67 points, even though her till publishes it three times
	// (twice with the same event id, once more with a new one).
	purchase := &posv1.PurchaseRecorded{
		EventId: "0192f0c1-1111-7000-8000-000000000001", StoreId: "berlin-01", TransactionId: "T-1001",
		MemberId: anna, OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 6788,
		Lines: []*posv1.Line{
			{Sku: "COF-250", Description: "Coffee", Quantity: 2, AmountMinor: 1798},
			{Sku: "GRN-1K", Description: "Grinder", Quantity: 1, AmountMinor: 4990},
		},
	}
	must(t, sys.till(false).PublishPurchase(ctx, purchase))
	must(t, sys.till(false).PublishPurchase(ctx, purchase))
	again := proto.Clone(purchase).(*posv1.PurchaseRecorded)
	again.EventId = "0192f0c1-1111-7000-8000-000000000002"
	must(t, sys.till(false).PublishPurchase(ctx, again))
	// Ben's till speaks protojson.
	must(t, sys.till(true).PublishPurchase(ctx, &posv1.PurchaseRecorded{
		EventId: "0192f0c1-1111-7000-8000-000000000003", StoreId: "hamburg-02", TransactionId: "T-2001",
		MemberId: ben, OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 1000,
		Channel: commonv1.Channel_CHANNEL_STORE,
	}))
	// A card the programme does not know: kept, not dropped.
	must(t, sys.till(false).PublishPurchase(ctx, &posv1.PurchaseRecorded{
		EventId: "0192f0c1-1111-7000-8000-000000000004", StoreId: "berlin-01", TransactionId: "T-1002",
		MemberId: "0192f0c1-9999-7000-8000-000000000000", OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 500,
	}))
	testkit.Eventually(t, 20*time.Second, "anna credited 67", func() bool { return balance(t, ledgerAPI, anna).Available == 67 })
	testkit.Eventually(t, 20*time.Second, "ben credited 10", func() bool { return balance(t, ledgerAPI, ben).Available == 10 })
	pool := sys.db
	testkit.Eventually(t, 20*time.Second, "unmatched purchase kept", func() bool {
		return pool.Count(`SELECT count(*) FROM ledger.unmatched_purchases WHERE transaction_id = 'T-1002'`) == 1
	})

	// 3. Both purchases brought an NPS invitation with a signed link, sent at once (the
	// seeded rule has no delay).
	annaInv := invitation(t, surveyAPI, anna)
	benInv := invitation(t, surveyAPI, ben)

	// Anna returns the grinder: its 49 points go back. Her invitation was sent already,
	// so the return does not take it back (it would have, had it still been scheduled).
	must(t, sys.till(false).PublishReturn(ctx, &posv1.ReturnRecorded{
		EventId: "0192f0c1-1111-7000-8000-000000000005", StoreId: "berlin-01", ReturnId: "R-1", OriginalTransactionId: "T-1001",
		MemberId: anna, OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 4990,
		Lines: []*posv1.Line{{Sku: "GRN-1K", Quantity: 1, AmountMinor: 4990}},
	}))
	testkit.Eventually(t, 20*time.Second, "return takes back 49", func() bool { return balance(t, ledgerAPI, anna).Available == 18 })

	// Anna answers on the web page without JavaScript: a detractor. Her score brings the
	// reason question on a next page; then her answer is recorded.
	page := httpGet(t, annaInv.Url)
	if !strings.Contains(page, "recommend") || !strings.Contains(page, "<form") {
		t.Fatalf("survey page has no question or form:\n%s", page)
	}
	page = postForm(t, annaInv.Url, url.Values{"q.nps": {"3"}, "_shown": {shownOf(t, page)}})
	if !strings.Contains(page, "What is the main reason for your score?") {
		t.Fatalf("no reason question after a 3:\n%s", page)
	}
	page = postForm(t, annaInv.Url, url.Values{"q.nps": {"3"}, "q.reason": {"Waited <20> minutes at the till"}, "_shown": {shownOf(t, page)}})
	if !strings.Contains(page, `id="thanks"`) {
		t.Fatalf("no thanks after answering:\n%s", page)
	}
	// Ben answers over gRPC: a promoter. A second answer is refused.
	benToken := benInv.Url[strings.LastIndex(benInv.Url, "/")+1:]
	answer, err := surveyAPI.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: benToken, Score: 10, Comment: "Great"})
	must(t, err)
	if answer.Response.NpsClass != commonv1.NpsClass_NPS_CLASS_PROMOTER {
		t.Fatalf("score 10 classed %v", answer.Response.NpsClass)
	}
	_, err = surveyAPI.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: benToken, Score: 2})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("second answer: %v, want FailedPrecondition", err)
	}

	// 4. Answering earns 50 bonus points, once per response.
	testkit.Eventually(t, 20*time.Second, "anna's survey bonus", func() bool { return balance(t, ledgerAPI, anna).Available == 68 })
	testkit.Eventually(t, 20*time.Second, "ben's survey bonus", func() bool { return balance(t, ledgerAPI, ben).Available == 60 })

	// 5. The detractor gets a call-back case for customer service due in 48 hours; the
	// promoter a referral request for marketing.
	var callback *feedbackv1.Case
	testkit.Eventually(t, 20*time.Second, "call-back case", func() bool {
		cases, err := feedbackAPI.ListCases(ctx, &feedbackv1.ListCasesRequest{Team: "customer-service", Status: feedbackv1.CaseStatus_CASE_STATUS_OPEN})
		must(t, err)
		if len(cases.Cases) == 1 {
			callback = cases.Cases[0]
		}
		return callback != nil
	})
	if callback.Kind != feedbackv1.CaseKind_CASE_KIND_CALLBACK || callback.MemberId != anna {
		t.Fatalf("call-back case = %v", callback)
	}
	// Due 48 hours after the customer answered (the case opens a moment later).
	if due := callback.DueAt.AsTime().Sub(callback.OpenedAt.AsTime()); due > 48*time.Hour || due < 48*time.Hour-time.Minute {
		t.Fatalf("call-back due after %v, want 48h", due)
	}
	testkit.Eventually(t, 20*time.Second, "referral request", func() bool {
		cases, err := feedbackAPI.ListCases(ctx, &feedbackv1.ListCasesRequest{Team: "marketing"})
		must(t, err)
		return len(cases.Cases) == 1 && cases.Cases[0].Kind == feedbackv1.CaseKind_CASE_KIND_REFERRAL_REQUEST && cases.Cases[0].MemberId == ben
	})
	resolved, err := feedbackAPI.ResolveCase(ctx, &feedbackv1.ResolveCaseRequest{
		CaseId: callback.CaseId, Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED, Note: "Called back, apologised",
	})
	must(t, err)
	if resolved.Case.Status != feedbackv1.CaseStatus_CASE_STATUS_RESOLVED {
		t.Fatalf("resolved case status %v", resolved.Case.Status)
	}

	// 6. Anna redeems 50 points for a coupon; the hold is captured; the till uses the
	// coupon once.
	reward, err := rewardsAdmin.CreateReward(ctx, &rewardsv1.CreateRewardRequest{
		Name: "5 EUR off", Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON, PointsPrice: 50, ValueMinor: 500, Currency: "EUR", ValidDays: 30,
	})
	must(t, err)
	redeemed, err := rewardsAdmin.Redeem(ctx, &rewardsv1.RedeemRequest{IdempotencyKey: "e2e-redeem-anna-1", MemberId: anna, RewardId: reward.Reward.RewardId})
	must(t, err)
	if redeemed.CouponCode == "" {
		t.Fatal("no coupon code")
	}
	testkit.Eventually(t, 20*time.Second, "hold captured", func() bool {
		b := balance(t, ledgerAPI, anna)
		return b.Available == 18 && b.Held == 0
	})
	valid, err := tillAPI.ValidateCoupon(ctx, &rewardsv1.ValidateCouponRequest{Code: redeemed.CouponCode, TerminalId: "berlin-01-till-1", StoreId: "berlin-01"})
	must(t, err)
	if !valid.Valid || valid.ValueMinor != 500 {
		t.Fatalf("ValidateCoupon = %v", valid)
	}
	_, err = tillAPI.RedeemCoupon(ctx, &rewardsv1.RedeemCouponRequest{Code: redeemed.CouponCode, TerminalId: "berlin-01-till-1", StoreId: "berlin-01"})
	must(t, err)
	_, err = tillAPI.RedeemCoupon(ctx, &rewardsv1.RedeemCouponRequest{Code: redeemed.CouponCode, TerminalId: "berlin-01-till-1", StoreId: "berlin-01"})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("second RedeemCoupon: %v, want FailedPrecondition", err)
	}

	// 7. Reporting: NPS (one promoter, one detractor: 0) by touchpoint, store and day, and
	// the points: 67 + 10 + 50 + 50 issued, 49 returned, 50 redeemed.
	testkit.Eventually(t, 20*time.Second, "NPS reported", func() bool {
		nps, err := reportAPI.GetNps(ctx, &reportingv1.GetNpsRequest{})
		must(t, err)
		o := nps.Overall
		return o.Responses == 2 && o.Promoters == 1 && o.Detractors == 1 && o.Score == 0 &&
			len(nps.ByStore) == 2 && len(nps.ByTouchpoint) == 1 && nps.ByTouchpoint[0].Key == "PURCHASE" && len(nps.ByDay) == 1
	})
	testkit.Eventually(t, 20*time.Second, "points reported", func() bool {
		p, err := reportAPI.GetPointsSummary(ctx, &reportingv1.GetPointsSummaryRequest{})
		must(t, err)
		return p.Issued == 177 && p.Returned == 49 && p.Redeemed == 50 && p.Outstanding == 78
	})
	dash := staffGet(t, sys.DatabaseURL(), "http://"+sys.dashboard, "/")
	if !strings.Contains(dash, "NPS") {
		t.Fatalf("dashboard has no NPS:\n%.2000s", dash)
	}

	// The ledger's invariants hold after all of it.
	checkLedgerInvariants(t, pool)

	// 8. Anna asks to be forgotten. She has points, an answer with a comment, a case with
	// an agent's note and a coupon; every service erases its copy of her personal data,
	// and her balance and the programme's figures stay as they were.
	eraseAndCheck(t, sys, anna, map[string][]string{
		"anna@example.com":                {"ledger"},
		"Waited <20> minutes at the till": {"survey", "feedback"},
		"Called back, apologised":         {"feedback"},
	})
}

func checkLedgerInvariants(t *testing.T, pool *testkit.DB) {
	t.Helper()
	if n := pool.Count(`SELECT coalesce(sum(balance), 0) FROM ledger.account_balances`); n != 0 {
		t.Errorf("sum of all balances = %d, want 0", n)
	}
	if n := pool.Count(`SELECT count(*) FROM ledger.accounts WHERE balance < 0`); n != 0 {
		t.Errorf("%d member accounts below zero", n)
	}
	if n := pool.Count(`SELECT count(*) FROM ledger.accounts a LEFT JOIN ledger.account_balances b ON b.account = a.name
		WHERE a.balance IS NOT NULL AND a.balance <> coalesce(b.balance, 0)`); n != 0 {
		t.Errorf("%d stored balances differ from their postings", n)
	}
}

func enrol(t *testing.T, api ledgerv1.LedgerServiceClient, name, locale string) string {
	t.Helper()
	resp, err := api.Enroll(context.Background(), &ledgerv1.EnrollRequest{
		IdempotencyKey: "e2e-enrol-" + name, DisplayName: name, Email: name + "@example.com", Locale: locale, SurveyConsent: true,
	})
	must(t, err)
	return resp.Member.MemberId
}

func balance(t *testing.T, api ledgerv1.LedgerServiceClient, member string) *ledgerv1.GetBalanceResponse {
	t.Helper()
	b, err := api.GetBalance(context.Background(), &ledgerv1.GetBalanceRequest{MemberId: member})
	must(t, err)
	return b
}

// invitation waits until member's one invitation is sent (the dispatcher took it) and
// returns it.
func invitation(t *testing.T, api surveyv1.SurveyServiceClient, member string) *surveyv1.Invitation {
	t.Helper()
	var inv *surveyv1.Invitation
	testkit.Eventually(t, 20*time.Second, "invitation sent to "+member, func() bool {
		resp, err := api.ListInvitations(context.Background(), &surveyv1.ListInvitationsRequest{MemberId: member})
		must(t, err)
		if len(resp.Invitations) > 1 {
			t.Fatalf("%d invitations for one member within the contact interval", len(resp.Invitations))
		}
		if len(resp.Invitations) == 1 {
			inv = resp.Invitations[0]
		}
		return inv.GetStatus() == surveyv1.InvitationStatus_INVITATION_STATUS_SENT
	})
	return inv
}

// staffGet creates a staff account, signs in on the web port at base and GETs path with
// the session.
func staffGet(t *testing.T, dsn, base, path string) string {
	t.Helper()
	return staffGetAs(t, dsn, base, path, "e2e-auditor", "auditor")
}

// staffGetAs is staffGet as the account user with roles.
func staffGetAs(t *testing.T, dsn, base, path, user string, roles ...string) string {
	t.Helper()
	store, err := staff.Open(testkit.Ctx(t), staff.Config{DatabaseURL: dsn}, testkit.Logger(t))
	must(t, err)
	defer store.Close()
	const password = "a long enough e2e password"
	_, err = store.Create(testkit.Ctx(t), user, roles, password)
	must(t, err)
	jar, err := cookiejar.New(nil)
	must(t, err)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(base+staff.LoginPath, url.Values{"username": {user}, "password": {password}, "next": {path}})
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != path {
		t.Fatalf("signing in at %s: %d at %s\n%s", base, resp.StatusCode, resp.Request.URL, b)
	}
	return string(b)
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, resp.StatusCode, b)
	}
	return string(b)
}

// postForm posts form to u as the survey page does and returns the page answered (200).
func postForm(t *testing.T, u string, form url.Values) string {
	t.Helper()
	code, page := post(t, u, form)
	if code != http.StatusOK {
		t.Fatalf("POST %s: %d\n%s", u, code, page)
	}
	return page
}

// post posts form to u and returns the status and the page.
func post(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var shownField = regexp.MustCompile(`<input type="hidden" name="_shown" value="([^"]*)">`)

// shownOf is what a survey page says it shows (the questions a post answers).
func shownOf(t *testing.T, page string) string {
	t.Helper()
	m := shownField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("survey page without its shown questions:\n%s", page)
	}
	return m[1]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
