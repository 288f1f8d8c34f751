package service_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/internal/adapters/postgres"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/convert"
	"github.com/treue/treue/services/rewards/internal/domain"
	"github.com/treue/treue/services/rewards/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// env is a rewards service on its own, its ledger unreachable: the catalogue, the till's
// limits and the API's checks need none. Redemptions, which do, are tested with a real
// ledger in scripts/e2e; here the service's own store records them (see completed).
type env struct {
	*testkit.Env
	addr    string
	rewards rewardsv1.RewardsServiceClient
	db      *testkit.DB // the rewards schema
	store   *postgres.Store
}

func start(t *testing.T) *env {
	t.Helper()
	e := testkit.NewEnv(t)
	cfg := service.Config{
		Base:                    e.Base(),
		LedgerAddr:              "127.0.0.1:1",
		ServiceAPIKey:           e.Key("service"),
		LedgerTimeout:           3 * time.Second,
		HoldTTL:                 24 * time.Hour,
		CouponAttemptsPerMinute: 30,
		// The subtests share the pos key and store: only the terminal's budget is tested
		// here; the lockout in scripts/e2e.
		CouponKeyAttemptsPerMinute:   100000,
		CouponStoreAttemptsPerMinute: 100000,
		CouponMaxFailures:            100000,
	}
	cfg.Base.DBMaxConns = 8
	s := testkit.Start(t, service.New, cfg).Service
	db := e.DB(service.Name)
	outbox, err := bus.NewOutbox(convert.Produces...)
	if err != nil {
		t.Fatal(err)
	}
	return &env{
		Env: e, addr: s.GRPCAddr(), rewards: rewardsv1.NewRewardsServiceClient(e.Conn(s.GRPCAddr(), "")),
		db: db, store: postgres.New(pg.NewDB(db.Pool, nil), outbox, nil),
	}
}

// completed records a completed redemption of a new reward for member, with its coupon
// and a sealed code, through the service's store as a Redeem does once the ledger has
// held the points, and returns it with the coupon's code.
func (e *env) completed(t *testing.T, memberID string) (domain.Redemption, domain.CouponCode) {
	t.Helper()
	ctx := e.as(t, "")
	reward := e.reward(t, 100)
	r, _, err := e.store.StartRedemption(ctx, app.NewRedemption{
		ID: uuid.Must(uuid.NewV7()).String(), IdempotencyKey: "fixture-" + uuid.NewString(),
		RequestHash: domain.RedeemRequestHash(memberID, reward.GetRewardId()), MemberID: memberID, RewardID: reward.GetRewardId(),
	})
	if err != nil {
		t.Fatal(err)
	}
	code, err := domain.NewCouponCode(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	err = e.store.InTx(ctx, func(ctx context.Context, tx app.Tx) error {
		r, err = tx.CompleteRedemption(ctx, app.Completion{
			RedemptionID: r.ID, HoldID: uuid.NewString(), CouponID: uuid.Must(uuid.NewV7()).String(),
			CodeHash: code.Hash(), SealedCode: []byte("SEALED " + r.ID), ShowFor: time.Hour,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, code
}

// publish sends ev on its subject as its producer does.
func (e *env) publish(t *testing.T, id string, ev proto.Message) testkit.Sent {
	t.Helper()
	return e.For(t).PublishEvent(id, ev)
}

// as returns a context for a call with role's key ("" for none).
func (e *env) as(t *testing.T, role string) context.Context { return e.For(t).As(role) }

func (e *env) reward(t *testing.T, price int64) *rewardsv1.Reward {
	t.Helper()
	resp, err := e.rewards.CreateReward(e.as(t, "marketing"), &rewardsv1.CreateRewardRequest{
		Name: "5 EUR off " + uuid.NewString()[:8], Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON,
		PointsPrice: price, ValueMinor: 500, Currency: "EUR",
	})
	if err != nil {
		t.Fatalf("create reward: %v", err)
	}
	return resp.GetReward()
}

func TestRewards(t *testing.T) {
	t.Parallel()
	e := start(t)

	t.Run("catalog", func(t *testing.T) {
		t.Parallel()
		created, err := e.rewards.CreateReward(e.as(t, "admin"), &rewardsv1.CreateRewardRequest{
			Name: "Coffee", Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON, PointsPrice: 250,
			ValueMinor: 350, Currency: "EUR", ValidDays: 30,
		})
		if err != nil {
			t.Fatal(err)
		}
		r := created.GetReward()
		if r.GetRewardId() == "" || !r.GetActive() || r.GetValidDays() != 30 || r.GetPointsPrice() != 250 {
			t.Fatalf("created %v", r)
		}
		defaulted := e.reward(t, 100)
		if defaulted.GetValidDays() != 90 {
			t.Fatalf("valid days = %d, want the default 90", defaulted.GetValidDays())
		}
		if _, err := e.db.Exec(e.as(t, ""), `UPDATE rewards.rewards SET active = false WHERE reward_id = $1`, defaulted.GetRewardId()); err != nil {
			t.Fatal(err)
		}
		has := func(include bool, id string) bool {
			resp, err := e.rewards.ListRewards(e.as(t, "pos"), &rewardsv1.ListRewardsRequest{IncludeInactive: include})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range resp.GetRewards() {
				if r.GetRewardId() == id {
					return true
				}
			}
			return false
		}
		if !has(false, r.GetRewardId()) || has(false, defaulted.GetRewardId()) {
			t.Fatal("active list wrong")
		}
		if !has(true, defaulted.GetRewardId()) {
			t.Fatal("include_inactive does not list the inactive reward")
		}
	})

	t.Run("attempts are limited per terminal", func(t *testing.T) {
		t.Parallel()
		terminal := "guesser-" + uuid.NewString()[:8]
		for i := range 30 {
			req := &rewardsv1.ValidateCouponRequest{Code: fmt.Sprintf("AAAA-AAAA-AAAA-%04d", i), TerminalId: terminal, StoreId: "s"}
			if _, err := e.rewards.ValidateCoupon(e.as(t, "pos"), req); err != nil {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		_, err := e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: terminal, StoreId: "s"})
		testkit.WantCode(t, err, codes.ResourceExhausted)
		_, err = e.rewards.RedeemCoupon(e.as(t, "pos"), &rewardsv1.RedeemCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: terminal, StoreId: "s"})
		testkit.WantCode(t, err, codes.ResourceExhausted)
		_, err = e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: terminal + "-other", StoreId: "s"})
		if err != nil {
			t.Fatalf("another terminal is limited too: %v", err)
		}
	})

	t.Run("requests are validated and authorised", func(t *testing.T) {
		t.Parallel()
		validReward := &rewardsv1.CreateRewardRequest{Name: "x", Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON, PointsPrice: 1, ValueMinor: 1, Currency: "EUR"}
		validRedeem := &rewardsv1.RedeemRequest{IdempotencyKey: "auth-key-1", MemberId: uuid.NewString(), RewardId: uuid.NewString()}
		validCode := &rewardsv1.ValidateCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: "auth-till", StoreId: "s"}
		validUse := &rewardsv1.RedeemCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: "auth-till", StoreId: "s"}
		type call func(ctx context.Context, req proto.Message) error
		methods := []struct {
			name      string
			call      call
			valid     proto.Message
			invalid   proto.Message // nil: the request has no field that can be malformed
			field     string
			allowed   string
			forbidden string
		}{
			{"ListRewards", func(ctx context.Context, m proto.Message) error {
				_, err := e.rewards.ListRewards(ctx, m.(*rewardsv1.ListRewardsRequest))
				return err
			}, &rewardsv1.ListRewardsRequest{}, nil, "", "pos", "auditor"},
			{"CreateReward", func(ctx context.Context, m proto.Message) error {
				_, err := e.rewards.CreateReward(ctx, m.(*rewardsv1.CreateRewardRequest))
				return err
			}, validReward, &rewardsv1.CreateRewardRequest{Name: "x", Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON, PointsPrice: 1, ValueMinor: 1, Currency: "eur"}, "currency", "marketing", "pos"},
			{"CreateReward kind", func(ctx context.Context, m proto.Message) error {
				_, err := e.rewards.CreateReward(ctx, m.(*rewardsv1.CreateRewardRequest))
				return err
			}, validReward, &rewardsv1.CreateRewardRequest{Name: "x", PointsPrice: 1, ValueMinor: 1, Currency: "EUR"}, "kind", "admin", "service"},
			{"Redeem", func(ctx context.Context, m proto.Message) error {
				_, err := e.rewards.Redeem(ctx, m.(*rewardsv1.RedeemRequest))
				return err
			}, validRedeem, &rewardsv1.RedeemRequest{IdempotencyKey: "auth-key-2", MemberId: "member-7", RewardId: uuid.NewString()}, "member_id", "service", "marketing"},
			{"Redeem key", func(ctx context.Context, m proto.Message) error {
				_, err := e.rewards.Redeem(ctx, m.(*rewardsv1.RedeemRequest))
				return err
			}, validRedeem, &rewardsv1.RedeemRequest{IdempotencyKey: "short", MemberId: uuid.NewString(), RewardId: uuid.NewString()}, "idempotency_key", "admin", "pos"},
			{"ValidateCoupon", func(ctx context.Context, m proto.Message) error {
				_, err := e.rewards.ValidateCoupon(ctx, m.(*rewardsv1.ValidateCouponRequest))
				return err
			}, validCode, &rewardsv1.ValidateCouponRequest{Code: "AAAA", TerminalId: "auth-till", StoreId: "s"}, "code", "pos", "service"},
			{"RedeemCoupon", func(ctx context.Context, m proto.Message) error {
				_, err := e.rewards.RedeemCoupon(ctx, m.(*rewardsv1.RedeemCouponRequest))
				return err
			}, validUse, &rewardsv1.RedeemCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: "auth-till"}, "store_id", "admin", "marketing"},
		}
		for _, m := range methods {
			t.Run(m.name, func(t *testing.T) {
				if m.invalid != nil {
					err := m.call(e.as(t, m.allowed), m.invalid)
					testkit.WantCode(t, err, codes.InvalidArgument)
					if !namesField(err, m.field) {
						t.Fatalf("%v does not name the field %s", err, m.field)
					}
				}
				testkit.WantCode(t, m.call(e.as(t, ""), m.valid), codes.Unauthenticated)
				testkit.WantCode(t, m.call(grpcx.WithAPIKey(e.as(t, ""), "not-a-key"), m.valid), codes.Unauthenticated)
				testkit.WantCode(t, m.call(e.as(t, m.forbidden), m.valid), codes.PermissionDenied)
			})
		}
	})
}

// namesField reports whether a status names field in its message and its BadRequest.
func namesField(err error, field string) bool {
	st := status.Convert(err)
	if !strings.Contains(st.Message(), field) {
		return false
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}
