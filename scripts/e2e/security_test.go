package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/testkit"
	authv1 "github.com/treue/treue/proto/gen/treue/auth/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	ledger "github.com/treue/treue/services/ledger/service"
	rewards "github.com/treue/treue/services/rewards/service"
	survey "github.com/treue/treue/services/survey/service"
)

// refusalReader is the one SDK reader of the process's global meter provider, so that
// the tests read treue.security.refusals as a Prometheus scrape would.
func refusalReader() *sdkmetric.ManualReader { return testkit.CaptureMetrics().Reader() }

// refusals returns treue.security.refusals by kind.
func refusals(t *testing.T) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := refusalReader().Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "treue.security.refusals" {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("treue.security.refusals is a %T", m.Data)
			}
			for _, dp := range sum.DataPoints {
				kind, _ := dp.Attributes.Value(attribute.Key("kind"))
				out[kind.AsString()] += dp.Value
			}
		}
	}
	return out
}

// wantRefused runs fn and checks that it raised the refusals of kind.
func wantRefused(t *testing.T, kind string, fn func()) {
	t.Helper()
	before := refusals(t)[kind]
	fn()
	if after := refusals(t)[kind]; after <= before {
		t.Errorf("treue_security_refusals_total{kind=%q} stayed at %d", kind, after)
	}
}

// The keys of the security tests besides one per role: tills bound to stores.
var (
	tillBerlin = testkit.Caller{Name: "till-berlin", Role: "pos", Key: "test-key-till-berlin", Stores: []string{"berlin-01"}}
	tillGuess  = testkit.Caller{Name: "till-guess", Role: "pos", Key: "test-key-till-guess", Stores: []string{"hamburg-02"}}
)

// TestSecurity attacks a ledger and two rewards replicas sharing one database, over
// real gRPC, with the keys an attacker would have: another store's, a revoked one, an
// expired one, another caller's idempotency keys; and guesses coupon codes from ever
// new terminal ids. Every refusal must show in treue.security.refusals.
func TestSecurity(t *testing.T) {
	t.Parallel()
	refusalReader()
	env := testkit.NewEnv(t, append(testkit.RoleCallers(), tillBerlin, tillGuess)...)
	e := &rewardsEnv{Env: env, codeKey: randomCodeKey()}
	lcfg, err := ledger.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	lcfg.Base = e.Base()
	lcfg.Lots.ReturnWindow = 0 // the scenarios redeem points they just earned
	l := testkit.Start(t, ledger.New, lcfg).Service
	e.ledgerAddr = l.GRPCAddr()
	guessing := func(c *rewards.Config) {
		c.CouponAttemptsPerMinute = 1000 // the lockout, not the terminal's budget, must stop the guesser
		c.CouponMaxFailures = 5
		c.CouponFailureWindow = 10 * time.Minute
		c.CouponLockout = time.Minute
	}
	sc, err := survey.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	sc.Base = e.Base()
	sc.TokenSecret = strings.Repeat("s", 32)
	surveyAddr := testkit.Start(t, survey.New, sc).Service.GRPCAddr()
	replicaA := startRewards(t, e, e.ledgerAddr, guessing).Service
	replicaB := startRewards(t, e, e.ledgerAddr, guessing).Service
	e.rewards = rewardsv1.NewRewardsServiceClient(e.Conn(replicaA.GRPCAddr(), ""))
	rewardsB := rewardsv1.NewRewardsServiceClient(e.Conn(replicaB.GRPCAddr(), ""))
	e.ledger = ledgerv1.NewLedgerServiceClient(e.Conn(l.GRPCAddr(), ""))
	e.db = e.DB(rewards.Name)
	// Keys are managed through any service: here the ledger's KeyService.
	keys := authv1.NewKeyServiceClient(e.Conn(l.GRPCAddr(), "admin"))
	as := func(t *testing.T, key string) context.Context { return grpcx.WithAPIKey(testkit.Ctx(t), key) }
	// list is a call any till may make that spends no coupon budget.
	list := func(ctx context.Context, c rewardsv1.RewardsServiceClient) error {
		_, err := c.ListRewards(ctx, &rewardsv1.ListRewardsRequest{})
		return err
	}
	validate := func(ctx context.Context, c rewardsv1.RewardsServiceClient, store, terminal string) error {
		_, err := c.ValidateCoupon(ctx, &rewardsv1.ValidateCouponRequest{Code: "AAAA-BBBB-CCCC-DDDD", TerminalId: terminal, StoreId: store})
		return err
	}

	t.Run("a store's key cannot use coupons at another store", func(t *testing.T) {
		code, _ := e.coupon(t)
		wantRefused(t, "store_scope", func() {
			_, err := e.rewards.RedeemCoupon(as(t, tillBerlin.Key), &rewardsv1.RedeemCouponRequest{Code: code, TerminalId: "t1", StoreId: "hamburg-02"})
			testkit.WantCode(t, err, codes.PermissionDenied)
			testkit.WantCode(t, validate(as(t, tillBerlin.Key), e.rewards, "hamburg-02", "t1"), codes.PermissionDenied)
		})
		// a till must name its store
		testkit.WantCode(t, validate(as(t, tillBerlin.Key), e.rewards, "", "t1"), codes.InvalidArgument)
		// and at its own store the coupon works
		if _, err := e.rewards.RedeemCoupon(as(t, tillBerlin.Key), &rewardsv1.RedeemCouponRequest{Code: code, TerminalId: "t1", StoreId: "berlin-01"}); err != nil {
			t.Fatalf("own store: %v", err)
		}
	})

	t.Run("a till learns a member's balance, not who they are", func(t *testing.T) {
		member, available := e.member(t, 2500)
		m, err := e.ledger.GetMember(as(t, tillBerlin.Key), &ledgerv1.GetMemberRequest{MemberId: member})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.GetMember(); got.GetMemberId() != member || got.GetDisplayName() != "" || got.GetEmail() != "" || got.GetLocale() != "" {
			t.Errorf("a till got %v", got)
		}
		b, err := e.ledger.GetBalance(as(t, tillBerlin.Key), &ledgerv1.GetBalanceRequest{MemberId: member})
		if err != nil || b.GetAvailable() != available {
			t.Fatalf("balance %v, %v; want %d available", b, err, available)
		}
		full, err := e.ledger.GetMember(e.as(t, "service_agent"), &ledgerv1.GetMemberRequest{MemberId: member})
		if err != nil || full.GetMember().GetEmail() == "" {
			t.Errorf("a service agent got %v, %v", full, err)
		}
	})

	t.Run("only the mailer sees a member's survey link", func(t *testing.T) {
		r, err := e.ledger.Enroll(e.as(t, "admin"), &ledgerv1.EnrollRequest{IdempotencyKey: "enrol-" + uuid.NewString(),
			DisplayName: "Jo", Email: "jo-" + uuid.NewString()[:8] + "@example.com", SurveyConsent: true})
		if err != nil {
			t.Fatal(err)
		}
		member := r.GetMember().GetMemberId()
		eventID := uuid.NewString()
		e.For(t).Publish("pos.purchase.recorded.berlin-01", eventID, &posv1.PurchaseRecorded{
			EventId: eventID, StoreId: "berlin-01", TransactionId: "tx-" + eventID, MemberId: member,
			OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 1200,
		})
		mailer := surveyv1.NewSurveyServiceClient(e.Conn(surveyAddr, "service"))
		req := &surveyv1.ListInvitationsRequest{MemberId: member}
		testkit.Eventually(t, 20*time.Second, "an invitation", func() bool {
			list, err := mailer.ListInvitations(testkit.Ctx(t), req)
			return err == nil && len(list.GetInvitations()) == 1 && strings.Contains(list.GetInvitations()[0].GetUrl(), "/s/")
		})
		for _, role := range []string{"marketing", "service_agent", "admin"} {
			wantRefused(t, "owner_scope", func() {
				list, err := surveyv1.NewSurveyServiceClient(e.Conn(surveyAddr, role)).ListInvitations(testkit.Ctx(t), req)
				if err != nil {
					t.Fatal(err)
				}
				if len(list.GetInvitations()) != 1 || list.GetInvitations()[0].GetUrl() != "" {
					t.Errorf("%s listed %v, want the invitation without its link", role, list.GetInvitations())
				}
			})
		}
	})

	t.Run("a till cannot spend a member's points", func(t *testing.T) {
		member, available := e.member(t, 2500)
		reward := e.reward(t, available)
		wantRefused(t, "permission_denied", func() {
			_, err := e.rewards.Redeem(as(t, tillBerlin.Key), &rewardsv1.RedeemRequest{
				IdempotencyKey: "till-" + uuid.NewString(), MemberId: member, RewardId: reward.GetRewardId()})
			testkit.WantCode(t, err, codes.PermissionDenied)
		})
		if got := e.balance(t, member).GetAvailable(); got != available {
			t.Errorf("balance %d after a till's refused Redeem, want %d", got, available)
		}
	})

	t.Run("another caller's idempotency key gets its own operation", func(t *testing.T) {
		member, _ := e.member(t, 30000)
		reward := e.reward(t, 100)
		key := "shared-" + uuid.NewString()
		first, err := e.rewards.Redeem(e.as(t, "service"), &rewardsv1.RedeemRequest{IdempotencyKey: key, MemberId: member, RewardId: reward.GetRewardId()})
		if err != nil {
			t.Fatal(err)
		}
		other, err := e.rewards.Redeem(e.as(t, "admin"), &rewardsv1.RedeemRequest{IdempotencyKey: key, MemberId: member, RewardId: reward.GetRewardId()})
		if err != nil {
			t.Fatal(err)
		}
		if other.GetRedemption().GetRedemptionId() == first.GetRedemption().GetRedemptionId() || other.GetCouponCode() == first.GetCouponCode() {
			t.Fatalf("the admin's retry of the service's key got the service's redemption %s", first.GetRedemption().GetRedemptionId())
		}
		again, err := e.rewards.Redeem(e.as(t, "service"), &rewardsv1.RedeemRequest{IdempotencyKey: key, MemberId: member, RewardId: reward.GetRewardId()})
		if err != nil || again.GetRedemption().GetRedemptionId() != first.GetRedemption().GetRedemptionId() || again.GetCouponCode() != first.GetCouponCode() {
			t.Fatalf("the service's own retry: %v, %v", again, err)
		}
		// Enrol the same way: marketing's key does not find the service's member.
		enrol := func(role, email string) string {
			r, err := e.ledger.Enroll(e.as(t, role), &ledgerv1.EnrollRequest{IdempotencyKey: key, DisplayName: "Jo", Email: email})
			if err != nil {
				t.Fatalf("%s enrol: %v", role, err)
			}
			return r.GetMember().GetMemberId()
		}
		mine := enrol("service", "jo-"+key[7:15]+"@example.com")
		theirs := enrol("marketing", "other-"+key[7:15]+"@example.com")
		if mine == theirs {
			t.Fatal("marketing's enrolment with the service's idempotency key returned the service's member")
		}
	})

	t.Run("managed keys: created, rotated, revoked and expired on every service", func(t *testing.T) {
		created, err := keys.CreateKey(testkit.Ctx(t), &authv1.CreateKeyRequest{Name: "till-munich-" + uuid.NewString()[:8], Roles: []string{"pos"}, Stores: []string{"munich-03"}})
		if err != nil {
			t.Fatal(err)
		}
		secret := created.GetSecret()
		id := created.GetKey().GetKeyId()
		// made on the ledger, accepted by both rewards replicas within the poll bound
		for _, c := range []rewardsv1.RewardsServiceClient{e.rewards, rewardsB} {
			testkit.Eventually(t, 6*time.Second, "the new key accepted", func() bool {
				return list(as(t, secret), c) == nil
			})
		}
		// a managed till key is bound to its stores as a bootstrap one is
		testkit.WantCode(t, validate(as(t, secret), e.rewards, "berlin-01", "m1"), codes.PermissionDenied)
		listed, err := keys.ListKeys(testkit.Ctx(t), &authv1.ListKeysRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(listed.String(), secret) || strings.Contains(listed.String(), grpcx.HashKey(secret)) {
			t.Fatal("ListKeys shows a secret or its hash")
		}
		// with a grace period both secrets work, on every replica
		graced, err := keys.RotateKey(testkit.Ctx(t), &authv1.RotateKeyRequest{KeyId: id, Grace: durationpb.New(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 6*time.Second, "the graced secret accepted", func() bool {
			return list(as(t, graced.GetSecret()), rewardsB) == nil
		})
		if err := list(as(t, secret), rewardsB); err != nil {
			t.Fatalf("the old secret within its grace: %v", err)
		}
		secret = graced.GetSecret()
		rotated, err := keys.RotateKey(testkit.Ctx(t), &authv1.RotateKeyRequest{KeyId: id, Grace: durationpb.New(0)})
		if err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 6*time.Second, "the old secret refused after rotation", func() bool {
			return status.Code(list(as(t, secret), rewardsB)) == codes.Unauthenticated
		})
		secret = rotated.GetSecret()
		if err := list(as(t, secret), rewardsB); err != nil {
			t.Fatalf("the rotated secret: %v", err)
		}
		wantRefused(t, "revoked_key", func() {
			if _, err := keys.RevokeKey(testkit.Ctx(t), &authv1.RevokeKeyRequest{KeyId: id, Reason: "till stolen"}); err != nil {
				t.Fatal(err)
			}
			// revocation reaches the other service's replicas within the poll bound
			testkit.Eventually(t, 6*time.Second, "the revoked key refused", func() bool {
				return status.Code(list(as(t, secret), rewardsB)) == codes.Unauthenticated
			})
		})
		auth := e.DB("auth")
		if n := auth.Count(`SELECT count(*) FROM api_key_audit WHERE key_id = $1`, id); n != 4 {
			t.Errorf("%d audit rows, want create, rotate twice, revoke", n)
		}
		if n := auth.Count(`SELECT count(*) FROM api_key_audit WHERE actor = 'admin' AND key_id = $1`, id); n != 4 {
			t.Errorf("%d audit rows name the admin", n)
		}
		if n := auth.Count(`SELECT count(*) FROM api_key_audit WHERE detail::text LIKE '%' || $1 || '%' OR detail::text LIKE '%' || $2 || '%'`,
			secret, grpcx.HashKey(secret)); n != 0 {
			t.Errorf("%d audit rows hold a secret or its hash", n)
		}

		short, err := keys.CreateKey(testkit.Ctx(t), &authv1.CreateKeyRequest{Name: "temp-" + uuid.NewString()[:8], Roles: []string{"auditor"},
			ExpiresAt: timestamppb.New(time.Now().Add(2 * time.Second))})
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, "expired_key", func() {
			testkit.Eventually(t, 10*time.Second, "the key expired", func() bool {
				_, err := e.ledger.GetBalance(as(t, short.GetSecret()), &ledgerv1.GetBalanceRequest{MemberId: uuid.NewString()})
				return status.Code(err) == codes.Unauthenticated && strings.Contains(status.Convert(err).Message(), "expired")
			})
		})
		wantRefused(t, "unknown_key", func() {
			testkit.WantCode(t, validate(as(t, "not-a-key"), e.rewards, "berlin-01", "t1"), codes.Unauthenticated)
		})
		wantRefused(t, "missing_key", func() {
			testkit.WantCode(t, validate(testkit.Ctx(t), e.rewards, "berlin-01", "t1"), codes.Unauthenticated)
		})
		// a pos key must name its stores
		_, err = keys.CreateKey(testkit.Ctx(t), &authv1.CreateKeyRequest{Name: "till-nowhere", Roles: []string{"pos"}})
		testkit.WantCode(t, err, codes.InvalidArgument)
	})

	t.Run("guessing coupons from ever new terminals on two replicas is locked out", func(t *testing.T) {
		replicas := []rewardsv1.RewardsServiceClient{e.rewards, rewardsB}
		var err error
		wantRefused(t, "coupon_lockout", func() {
			for i := 0; i < 20; i++ {
				code := fmt.Sprintf("GUES-SXXX-XXXX-%04d", i)
				req := &rewardsv1.ValidateCouponRequest{Code: code, TerminalId: fmt.Sprintf("till-%d", i), StoreId: "hamburg-02"}
				_, err = replicas[i%2].ValidateCoupon(as(t, tillGuess.Key), req)
				if status.Code(err) == codes.ResourceExhausted {
					if i < 5 {
						t.Fatalf("locked after %d guesses, want 5", i)
					}
					break
				}
				if err != nil {
					t.Fatalf("guess %d: %v", i, err)
				}
			}
		})
		st := status.Convert(err)
		if st.Code() != codes.ResourceExhausted {
			t.Fatalf("20 guesses from 20 terminals on two replicas were never stopped: %v", err)
		}
		var reason string
		var retry time.Duration
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				reason = d.GetReason()
			case *errdetails.RetryInfo:
				retry = d.GetRetryDelay().AsDuration()
			}
		}
		if reason != "COUPON_LOCKOUT" || retry <= 0 || retry > time.Minute {
			t.Errorf("lockout status: reason %q, retry %v (%v)", reason, retry, st.Message())
		}
		// a fresh terminal is still locked out: the key and the store are
		_, err = rewardsB.RedeemCoupon(as(t, tillGuess.Key), &rewardsv1.RedeemCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: "fresh", StoreId: "hamburg-02"})
		testkit.WantCode(t, err, codes.ResourceExhausted)
		// the operator is alerted, through the outbox
		got := testkit.WaitEvent(e.For(t), "rewards.coupon.guessing_suspected", func(ev *rewardsv1.CouponGuessingSuspected) bool {
			return ev.GetKeyName() == tillGuess.Name
		})
		if got.GetFailures() < 5 || got.GetStoreId() != "hamburg-02" {
			t.Errorf("alert %v", got)
		}
		// other keys and stores go on
		if err := validate(as(t, tillBerlin.Key), e.rewards, "berlin-01", "b1"); err != nil {
			t.Errorf("another store's till after the lockout: %v", err)
		}
	})
}
