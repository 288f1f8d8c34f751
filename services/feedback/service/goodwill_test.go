package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"

	"github.com/treue/treue/services/feedback/service"
)

func (e *env) goodwill() []*feedbackv1.GoodwillGranted {
	return testkit.Events[*feedbackv1.GoodwillGranted](e.Env, testkit.Subject(&feedbackv1.GoodwillGranted{}))
}

func TestGoodwillOnResolve(t *testing.T) {
	t.Parallel()
	e := testkit.NewEnv(t, callers...)
	cfg := service.Config{Base: e.Base(), GoodwillLimits: map[string]int64{"service_agent": 500, "admin": 5000}}
	cfg.Base.DBMaxConns = 8
	s := testkit.Start(t, service.New, cfg).Service
	conn := e.Conn(s.GRPCAddr(), "")
	env := &env{Env: e, t: t, db: e.DB(service.Schema), client: feedbackv1.NewFeedbackServiceClient(conn)}

	granted := env.submit(2)
	overLimit := env.submit(3)
	anonymous := env.submit(1, withMember(""))
	refused := env.submit(4)
	cGranted, cOver := env.waitCase(granted.GetResponseId()), env.waitCase(overLimit.GetResponseId())
	cAnon, cRefused := env.waitCase(anonymous.GetResponseId()), env.waitCase(refused.GetResponseId())
	resolve := func(key, caseID string, points int64) error {
		_, err := env.client.ResolveCase(as(key), &feedbackv1.ResolveCaseRequest{
			CaseId: caseID, Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
			GoodwillPoints: points, GoodwillReason: "sorry for the wait",
		})
		return err
	}

	// Over the agent's limit: refused, and the case stays open for a grant within it.
	err := resolve(keyAlice, cOver.GetCaseId(), 501)
	testkit.WantCode(t, err, codes.FailedPrecondition)
	testkit.WantReason(t, err, "GOODWILL_LIMIT")
	// Marketing may resolve cases but has no goodwill limit.
	err = resolve(keyMarket, cRefused.GetCaseId(), 1)
	testkit.WantReason(t, err, "GOODWILL_LIMIT")
	// An anonymous case has nobody to grant to.
	err = resolve(keyAdmin, cAnon.GetCaseId(), 10)
	testkit.WantCode(t, err, codes.FailedPrecondition)
	testkit.WantReason(t, err, "GOODWILL_ANONYMOUS")
	for _, id := range []string{cOver.GetCaseId(), cRefused.GetCaseId(), cAnon.GetCaseId()} {
		got, err := env.client.GetCase(as(keyAdmin), &feedbackv1.GetCaseRequest{CaseId: id})
		if err != nil || got.GetCase().GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_OPEN {
			t.Errorf("case %s after a refused grant: %v, %v", id, got.GetCase().GetStatus(), err)
		}
	}

	// Within the limit: one grant, emitted with the resolution; a retried resolve is
	// refused and grants nothing more. The admin's higher limit applies to the admin.
	if err := resolve(keyAlice, cGranted.GetCaseId(), 500); err != nil {
		t.Fatal(err)
	}
	testkit.WantReason(t, resolve(keyAlice, cGranted.GetCaseId(), 500), "ALREADY_RESOLVED")
	if err := resolve(keyAdmin, cOver.GetCaseId(), 2000); err != nil {
		t.Fatal(err)
	}
	var evs []*feedbackv1.GoodwillGranted
	testkit.Eventually(t, 10*time.Second, "two GoodwillGranted", func() bool {
		evs = env.goodwill()
		return len(evs) >= 2
	})
	time.Sleep(200 * time.Millisecond)
	if evs = env.goodwill(); len(evs) != 2 {
		t.Fatalf("%d grants, want 2: %v", len(evs), evs)
	}
	byCase := map[string]*feedbackv1.GoodwillGranted{}
	for _, g := range evs {
		byCase[g.GetCaseId()] = g
	}
	g := byCase[cGranted.GetCaseId()]
	if g == nil || g.GetGrantId() != cGranted.GetCaseId() || g.GetMemberId() != granted.GetMemberId() || g.GetPoints() != 500 ||
		g.GetGrantedBy() != "alice" || g.GetRole() != "service_agent" || g.GetReason() != "sorry for the wait" || g.GetGrantedAt() == nil {
		t.Errorf("grant = %v", g)
	}
	if g := byCase[cOver.GetCaseId()]; g == nil || g.GetPoints() != 2000 || g.GetRole() != "admin" || g.GetGrantedBy() != "root" {
		t.Errorf("admin's grant = %v", g)
	}
	// Resolving without goodwill grants none.
	if err := resolve(keyAlice, cAnon.GetCaseId(), 0); err != nil {
		t.Fatal(err)
	}
}

// TestGoodwillOncePerCase: a case reopened after a grant refuses a second one (the ledger
// books one grant per case, so it would come to nothing); the resolution without goodwill
// works. A coupon reward needs a role of FEEDBACK_GOODWILL_REWARD_ROLES and a rewards
// service.
func TestGoodwillOncePerCase(t *testing.T) {
	t.Parallel()
	e := testkit.NewEnv(t, callers...)
	cfg := service.Config{Base: e.Base(), GoodwillLimits: map[string]int64{"service_agent": 500, "admin": 5000}}
	cfg.Base.DBMaxConns = 8
	s := testkit.Start(t, service.New, cfg).Service
	conn := e.Conn(s.GRPCAddr(), "")
	env := &env{Env: e, t: t, db: e.DB(service.Schema), client: feedbackv1.NewFeedbackServiceClient(conn), privacy: privacyv1.NewPrivacyServiceClient(conn)}
	answer := env.submit(2)
	c := env.waitCase(answer.GetResponseId())
	resolve := func(key string, points int64, reward string) error {
		_, err := env.client.ResolveCase(as(key), &feedbackv1.ResolveCaseRequest{
			CaseId: c.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
			GoodwillPoints: points, GoodwillReason: "sorry", GoodwillRewardId: reward,
		})
		return err
	}
	reward := uuid.NewString()

	// A service agent's key may not grant a reward (the default roles are admin,
	// team_lead, manager); an admin's may, but this service has no rewards service.
	err := resolve(keyAlice, 0, reward)
	testkit.WantCode(t, err, codes.PermissionDenied)
	if !strings.Contains(status.Convert(err).Message(), "goodwill_reward_id") {
		t.Errorf("the refusal does not name the field: %v", err)
	}
	testkit.WantReason(t, resolve(keyAdmin, 0, reward), "GOODWILL_REWARDS_OFF")

	if err := resolve(keyAlice, 100, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := env.client.ReopenCase(as(keyAdmin), &feedbackv1.ReopenCaseRequest{CaseId: c.GetCaseId()}); err != nil {
		t.Fatal(err)
	}
	err = resolve(keyAdmin, 100, "")
	testkit.WantCode(t, err, codes.FailedPrecondition)
	testkit.WantReason(t, err, "GOODWILL_ALREADY_GRANTED")
	if !strings.Contains(status.Convert(err).Message(), "goodwill_points") {
		t.Errorf("the refusal does not name the field: %v", err)
	}
	got, err := env.client.GetCase(as(keyAdmin), &feedbackv1.GetCaseRequest{CaseId: c.GetCaseId()})
	if err != nil || got.GetCase().GetStatus() == feedbackv1.CaseStatus_CASE_STATUS_RESOLVED || got.GetCase().GetGoodwillReward() != nil {
		t.Fatalf("after the refused second grant: %v, %v", got.GetCase(), err)
	}
	if err := resolve(keyAdmin, 0, ""); err != nil {
		t.Fatalf("resolving without goodwill: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, "one grant", func() bool { return len(env.goodwill()) >= 1 })
	time.Sleep(200 * time.Millisecond)
	if evs := env.goodwill(); len(evs) != 1 || evs[0].GetPoints() != 100 {
		t.Errorf("grants %v", evs)
	}
	// The member's export has the grant.
	grants := env.export(keyPrivacy, answer.GetMemberId()).GetData().GetFields()["goodwill"].GetListValue().GetValues()
	if len(grants) != 1 || grants[0].GetStructValue().AsMap()["case_id"] != c.GetCaseId() ||
		grants[0].GetStructValue().AsMap()["points"] != float64(100) || grants[0].GetStructValue().AsMap()["reason"] != "sorry" {
		t.Errorf("exported goodwill %v", grants)
	}
}

func TestLoadConfigGoodwillRewards(t *testing.T) {
	t.Setenv("FEEDBACK_GOODWILL_REWARD_ROLES", "")
	t.Setenv("FEEDBACK_REWARDS_ADDR", "")
	cfg, err := service.LoadConfig()
	if err != nil || !slices.Equal(cfg.GoodwillRewards.Roles, []string{"admin", "team_lead", "manager"}) || cfg.GoodwillRewards.RewardsAddr != "" {
		t.Errorf("defaults %+v, %v", cfg.GoodwillRewards, err)
	}
	t.Setenv("FEEDBACK_GOODWILL_REWARD_ROLES", " admin, service_agent,admin ")
	t.Setenv("FEEDBACK_REWARDS_ADDR", "rewards:7004")
	t.Setenv("FEEDBACK_REWARDS_API_KEY", "secret-key")
	cfg, err = service.LoadConfig()
	if err != nil || !slices.Equal(cfg.GoodwillRewards.Roles, []string{"admin", "service_agent"}) ||
		cfg.GoodwillRewards.RewardsAddr != "rewards:7004" || cfg.GoodwillRewards.APIKey != "secret-key" {
		t.Errorf("from the environment %+v, %v", cfg.GoodwillRewards, err)
	}
	if logged := fmt.Sprint(cfg.GoodwillRewards.LogValue()); strings.Contains(logged, "secret-key") {
		t.Errorf("the key is logged: %s", logged)
	}
}

func TestLoadConfigGoodwillLimits(t *testing.T) {
	t.Setenv("FEEDBACK_GOODWILL_LIMITS", "")
	cfg, err := service.LoadConfig()
	if err != nil || cfg.GoodwillLimits["service_agent"] != 500 || cfg.GoodwillLimits["admin"] != 5000 || len(cfg.GoodwillLimits) != 2 {
		t.Errorf("default limits %v, %v", cfg.GoodwillLimits, err)
	}
	t.Setenv("FEEDBACK_GOODWILL_LIMITS", "service_agent:50, admin=900")
	if cfg, err = service.LoadConfig(); err != nil || cfg.GoodwillLimits["service_agent"] != 50 || cfg.GoodwillLimits["admin"] != 900 {
		t.Errorf("limits from the environment: %v, %v", cfg.GoodwillLimits, err)
	}
	for _, bad := range []string{"agent", "agent:0", "agent:x", "a:1,a:2"} {
		t.Setenv("FEEDBACK_GOODWILL_LIMITS", bad)
		if _, err := service.LoadConfig(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
