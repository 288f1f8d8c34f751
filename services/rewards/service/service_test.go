package service_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	ledgerservice "github.com/treue/treue/services/ledger/service"
	"github.com/treue/treue/services/rewards/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// env is one ledger and one rewards service on a fresh database and NATS namespace,
// shared by the subtests of a test.
type env struct {
	base       svc.Base
	keys       map[string]string // role -> API key
	rewards    rewardsv1.RewardsServiceClient
	ledger     ledgerv1.LedgerServiceClient
	js         jetstream.JetStream
	ns         string
	db         *pgxpool.Pool // the test's database, for looking at the rewards schema
	ledgerAddr string
	codeKey    string // REWARDS_CODE_KEY of every rewards instance of the test
	// rewardsOpts adjust the configuration of every rewards instance of the test.
	rewardsOpts []func(*service.Config)
}

var roles = []string{"admin", "marketing", "service_agent", "pos", "auditor", "service"}

// randomKey is a REWARDS_CODE_KEY: 32 random bytes in hex.
func randomKey() string {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return hex.EncodeToString(k)
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// start starts a ledger and a rewards service; opts adjust the configuration of every
// rewards instance of the test.
func start(t *testing.T, opts ...func(*service.Config)) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := &env{keys: map[string]string{}, ns: testkit.Namespace(t), codeKey: randomKey(), rewardsOpts: opts}
	var specs []string
	for _, r := range roles {
		key := "test-" + r + "-" + uuid.NewString()
		e.keys[r] = key
		specs = append(specs, r+"-client:"+r+":"+grpcx.HashKey(key))
	}
	e.base = svc.Base{
		DatabaseURL:    testkit.Database(t),
		NATSURL:        testkit.NATS(t),
		Namespace:      e.ns,
		GRPCAddr:       "127.0.0.1:0",
		APIKeys:        strings.Join(specs, ","),
		StreamReplicas: 1,
		DBMaxConns:     8,
	}

	lcfg, err := ledgerservice.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	lcfg.Base = e.base
	ledger, err := ledgerservice.New(ctx, lcfg, testLogger().With("service", "ledger"))
	if err != nil {
		t.Fatalf("ledger: %v", err)
	}
	runService(t, ledger.Run)
	e.ledgerAddr = ledger.GRPCAddr()

	rewards := startRewards(t, e, e.ledgerAddr)
	e.rewards = rewardsv1.NewRewardsServiceClient(dial(t, rewards.GRPCAddr()))
	e.ledger = ledgerv1.NewLedgerServiceClient(dial(t, ledger.GRPCAddr()))

	nc, err := nats.Connect(e.base.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if e.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	if e.db, err = pgxpool.New(ctx, e.base.DatabaseURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.db.Close)
	return e
}

// startRewards starts a rewards service on e's database and namespace that calls the
// ledger at ledgerAddr. opts apply after the test's own.
func startRewards(t *testing.T, e *env, ledgerAddr string, opts ...func(*service.Config)) *service.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := service.Config{
		Base:                    e.base,
		LedgerAddr:              ledgerAddr,
		ServiceAPIKey:           e.keys["service"],
		LedgerTimeout:           3 * time.Second,
		HoldTTL:                 24 * time.Hour,
		CouponAttemptsPerMinute: 30,
		CodeKey:                 e.codeKey,
		CodeRetryWindow:         24 * time.Hour,
		// Far off, so that no settler races the subtests' own redemptions; the tests of
		// the settler shorten it.
		SettleAfter:   time.Hour,
		SweepInterval: 100 * time.Millisecond,
	}
	for _, o := range append(e.rewardsOpts, opts...) {
		o(&cfg)
	}
	s, err := service.New(ctx, cfg, testLogger().With("service", "rewards"))
	if err != nil {
		t.Fatalf("rewards: %v", err)
	}
	runService(t, s.Run)
	return s
}

func runService(t *testing.T, run func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("service stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("service did not stop within 30s")
		}
	})
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// as returns a context for a call with role's key and a deadline.
func (e *env) as(t *testing.T, role string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	if role == "" {
		return ctx
	}
	return grpcx.WithAPIKey(ctx, e.keys[role])
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// member enrols a member in the ledger and credits them points through a POS purchase;
// it returns the member's id and available points.
func (e *env) member(t *testing.T, totalMinor int64) (string, int64) {
	t.Helper()
	resp, err := e.ledger.Enroll(e.as(t, "admin"), &ledgerv1.EnrollRequest{
		IdempotencyKey: "enrol-" + uuid.NewString(),
		DisplayName:    "Test Member",
		Email:          "member-" + uuid.NewString()[:8] + "@example.com",
	})
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	id := resp.GetMember().GetMemberId()
	if totalMinor == 0 {
		return id, 0
	}
	eventID := uuid.NewString()
	purchase := &posv1.PurchaseRecorded{
		EventId: eventID, StoreId: "store-1", TransactionId: "tx-" + eventID, MemberId: id,
		OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: totalMinor,
	}
	data, err := proto.Marshal(purchase)
	if err != nil {
		t.Fatal(err)
	}
	msg := &nats.Msg{Subject: e.ns + "pos.purchase.recorded.store-1", Data: data, Header: nats.Header{}}
	msg.Header.Set(bus.HeaderMsgID, eventID)
	msg.Header.Set(bus.HeaderContentType, bus.ContentTypeProto)
	msg.Header.Set(bus.HeaderEventType, string(purchase.ProtoReflect().Descriptor().FullName()))
	if _, err := e.js.PublishMsg(e.as(t, ""), msg); err != nil {
		t.Fatalf("publish purchase: %v", err)
	}
	var available int64
	eventually(t, 10*time.Second, "purchase credited", func() bool {
		available = e.balance(t, id).GetAvailable()
		return available > 0
	})
	return id, available
}

func (e *env) balance(t *testing.T, memberID string) *ledgerv1.GetBalanceResponse {
	t.Helper()
	b, err := e.ledger.GetBalance(e.as(t, "admin"), &ledgerv1.GetBalanceRequest{MemberId: memberID})
	if err != nil {
		t.Fatalf("balance: %v", err)
	}
	return b
}

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

func (e *env) redeem(t *testing.T, key, memberID, rewardID string) (*rewardsv1.RedeemResponse, error) {
	t.Helper()
	return e.rewards.Redeem(e.as(t, "service"), &rewardsv1.RedeemRequest{
		IdempotencyKey: key, MemberId: memberID, RewardId: rewardID,
	})
}

// coupon redeems a reward for a fresh member and returns the coupon's code.
func (e *env) coupon(t *testing.T) (string, *rewardsv1.RedeemResponse) {
	t.Helper()
	memberID, available := e.member(t, 10000)
	reward := e.reward(t, available)
	resp, err := e.redeem(t, "coupon-"+uuid.NewString(), memberID, reward.GetRewardId())
	if err != nil {
		t.Fatalf("redeem: %v", err)
	}
	return resp.GetCouponCode(), resp
}

// event waits for an event on subject (outside the namespace) that match accepts.
func (e *env) event(t *testing.T, subject string, msg proto.Message, match func() bool) []byte {
	t.Helper()
	var found []byte
	eventually(t, 10*time.Second, "event on "+subject, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cons, err := e.js.OrderedConsumer(ctx, strings.ToUpper(e.ns)+"REWARDS", jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{e.ns + subject},
		})
		if err != nil {
			t.Fatalf("consumer: %v", err)
		}
		batch, err := cons.FetchNoWait(1000)
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		for m := range batch.Messages() {
			if err := proto.Unmarshal(m.Data(), msg); err != nil {
				t.Fatalf("decode %s: %v", subject, err)
			}
			if m.Headers().Get(bus.HeaderEventType) != string(msg.ProtoReflect().Descriptor().FullName()) {
				t.Fatalf("event type header %q", m.Headers().Get(bus.HeaderEventType))
			}
			if match() {
				found = m.Data()
				return true
			}
		}
		return false
	})
	return found
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	wantCode(t, err, codes.FailedPrecondition)
	if got := grpcx.Reason(err); got != reason {
		t.Fatalf("reason = %q (%v), want %s", got, err, reason)
	}
}

func normalised(code string) string {
	return strings.ToUpper(strings.ReplaceAll(code, "-", ""))
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

	t.Run("redeem happy path", func(t *testing.T) {
		t.Parallel()
		memberID, available := e.member(t, 10000)
		price := available / 2
		reward := e.reward(t, price)
		resp, err := e.redeem(t, "happy-"+uuid.NewString(), memberID, reward.GetRewardId())
		if err != nil {
			t.Fatal(err)
		}
		red := resp.GetRedemption()
		code := resp.GetCouponCode()
		if red.GetStatus() != rewardsv1.RedemptionStatus_REDEMPTION_STATUS_COMPLETED || red.GetHoldId() == "" ||
			red.GetCouponId() == "" || red.GetPoints() != price || red.GetMemberId() != memberID {
			t.Fatalf("redemption %v", red)
		}
		if len(code) != 19 || strings.Count(code, "-") != 3 {
			t.Fatalf("code %q, want XXXX-XXXX-XXXX-XXXX", code)
		}
		if d := time.Until(resp.GetCouponExpiresAt().AsTime()); d < 89*24*time.Hour || d > 91*24*time.Hour {
			t.Fatalf("coupon expires in %s, want 90 days", d)
		}
		// The ledger captured the hold from redemption.completed.
		eventually(t, 10*time.Second, "hold captured", func() bool {
			b := e.balance(t, memberID)
			return b.GetAvailable() == available-price && b.GetHeld() == 0
		})
		var completed rewardsv1.RedemptionCompleted
		e.event(t, "rewards.redemption.completed", &completed, func() bool {
			return completed.GetRedemptionId() == red.GetRedemptionId()
		})
		if completed.GetHoldId() != red.GetHoldId() || completed.GetPoints() != price {
			t.Fatalf("completed event %v", &completed)
		}
		var issued rewardsv1.CouponIssued
		raw := e.event(t, "rewards.coupon.issued", &issued, func() bool {
			return issued.GetCouponId() == red.GetCouponId()
		})
		if issued.GetRedemptionId() != red.GetRedemptionId() || issued.GetValueMinor() != 500 || issued.GetCurrency() != "EUR" {
			t.Fatalf("issued event %v", &issued)
		}
		if strings.Contains(string(raw), normalised(code)) || strings.Contains(string(raw), code) {
			t.Fatal("coupon.issued carries the code")
		}
		// Only the code's hash is stored.
		var hash []byte
		var row string
		if err := e.db.QueryRow(e.as(t, ""), `SELECT code_hash, c::text FROM rewards.coupons c WHERE coupon_id = $1`,
			red.GetCouponId()).Scan(&hash, &row); err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256([]byte(normalised(code)))
		if string(hash) != string(want[:]) {
			t.Fatal("code_hash is not the SHA-256 of the code")
		}
		if strings.Contains(strings.ToUpper(row), normalised(code)) {
			t.Fatal("the coupon row contains the code")
		}
	})

	t.Run("redeem is idempotent", func(t *testing.T) {
		t.Parallel()
		memberID, available := e.member(t, 10000)
		reward := e.reward(t, available/4)
		key := "idem-" + uuid.NewString()
		first, err := e.redeem(t, key, memberID, reward.GetRewardId())
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.redeem(t, key, memberID, reward.GetRewardId())
		if err != nil {
			t.Fatal(err)
		}
		if again.GetRedemption().GetRedemptionId() != first.GetRedemption().GetRedemptionId() ||
			again.GetRedemption().GetHoldId() != first.GetRedemption().GetHoldId() ||
			again.GetRedemption().GetStatus() != rewardsv1.RedemptionStatus_REDEMPTION_STATUS_COMPLETED {
			t.Fatalf("retry returned %v, want %v", again.GetRedemption(), first.GetRedemption())
		}
		if again.GetCouponCode() != first.GetCouponCode() ||
			again.GetCouponCodeStatus() != rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_SHOWN {
			t.Fatalf("the retry shows code %q (%s), want the first call's", again.GetCouponCode(), again.GetCouponCodeStatus())
		}
		if !again.GetCouponExpiresAt().AsTime().Equal(first.GetCouponExpiresAt().AsTime()) {
			t.Fatal("the retry reports another expiry")
		}
		eventually(t, 10*time.Second, "one hold captured, no second", func() bool {
			b := e.balance(t, memberID)
			return b.GetAvailable() == available-available/4 && b.GetHeld() == 0
		})
		other := e.reward(t, 1)
		_, err = e.redeem(t, key, memberID, other.GetRewardId())
		wantReason(t, err, "IDEMPOTENCY_KEY_REUSED")
		var n int
		if err := e.db.QueryRow(e.as(t, ""), `SELECT count(*) FROM rewards.redemptions WHERE member_id = $1`, memberID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d redemptions, want 1", n)
		}
	})

	t.Run("concurrent retries settle once", func(t *testing.T) {
		t.Parallel()
		memberID, available := e.member(t, 10000)
		reward := e.reward(t, available/2)
		key := "race-" + uuid.NewString()
		const callers = 8
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			codes = map[string]int{}
			ids   = map[string]bool{}
		)
		for range callers {
			wg.Go(func() {
				resp, err := e.redeem(t, key, memberID, reward.GetRewardId())
				if err != nil {
					t.Errorf("redeem: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				ids[resp.GetRedemption().GetRedemptionId()] = true
				codes[resp.GetCouponCode()]++
			})
		}
		wg.Wait()
		// One coupon, whose code every caller sees: they are all the same caller retrying.
		if len(ids) != 1 || len(codes) != 1 || codes[""] != 0 {
			t.Fatalf("%d redemptions and codes %v, want one redemption and one code for all", len(ids), codes)
		}
		eventually(t, 10*time.Second, "one hold captured", func() bool {
			b := e.balance(t, memberID)
			return b.GetAvailable() == available-available/2 && b.GetHeld() == 0
		})
	})

	t.Run("insufficient points", func(t *testing.T) {
		t.Parallel()
		memberID, available := e.member(t, 10000)
		reward := e.reward(t, available+1)
		key := "poor-" + uuid.NewString()
		_, err := e.redeem(t, key, memberID, reward.GetRewardId())
		wantReason(t, err, "INSUFFICIENT_POINTS")
		_, err = e.redeem(t, key, memberID, reward.GetRewardId())
		wantReason(t, err, "INSUFFICIENT_POINTS")
		b := e.balance(t, memberID)
		if b.GetAvailable() != available || b.GetHeld() != 0 {
			t.Fatalf("balance %v, want %d available and nothing held", b, available)
		}
		var st, reason string
		if err := e.db.QueryRow(e.as(t, ""), `SELECT status, cancel_reason FROM rewards.redemptions WHERE idempotency_key = $1`, key).
			Scan(&st, &reason); err != nil {
			t.Fatal(err)
		}
		if st != "cancelled" || reason != "insufficient_points" {
			t.Fatalf("redemption %s (%s), want cancelled for insufficient points", st, reason)
		}
	})

	t.Run("unknown and inactive rewards, unknown members", func(t *testing.T) {
		t.Parallel()
		memberID, _ := e.member(t, 10000)
		_, err := e.redeem(t, "nope-"+uuid.NewString(), memberID, uuid.NewString())
		wantCode(t, err, codes.NotFound)
		reward := e.reward(t, 1)
		if _, err := e.db.Exec(e.as(t, ""), `UPDATE rewards.rewards SET active = false WHERE reward_id = $1`, reward.GetRewardId()); err != nil {
			t.Fatal(err)
		}
		_, err = e.redeem(t, "inactive-"+uuid.NewString(), memberID, reward.GetRewardId())
		wantReason(t, err, "REWARD_INACTIVE")
		active := e.reward(t, 1)
		_, err = e.redeem(t, "stranger-"+uuid.NewString(), uuid.NewString(), active.GetRewardId())
		wantCode(t, err, codes.NotFound)
	})

	t.Run("a failure after the hold cancels and voids it", func(t *testing.T) {
		t.Parallel()
		memberID, available := e.member(t, 10000)
		reward := e.reward(t, available)
		// Make step (c) fail for this member only.
		fn := "fail_" + strings.ReplaceAll(memberID, "-", "")
		ctx := e.as(t, "")
		for _, stmt := range []string{
			`CREATE FUNCTION rewards.` + fn + `() RETURNS trigger LANGUAGE plpgsql AS $$
			 BEGIN IF NEW.member_id = '` + memberID + `' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER ` + fn + ` BEFORE INSERT ON rewards.coupons FOR EACH ROW EXECUTE FUNCTION rewards.` + fn + `()`,
		} {
			if _, err := e.db.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		key := "fail-" + uuid.NewString()
		_, err := e.redeem(t, key, memberID, reward.GetRewardId())
		wantCode(t, err, codes.Internal)
		if _, err := e.db.Exec(ctx, `DROP TRIGGER `+fn+` ON rewards.coupons`); err != nil {
			t.Fatal(err)
		}
		var st, holdID string
		if err := e.db.QueryRow(ctx, `SELECT status, coalesce(hold_id::text, '') FROM rewards.redemptions WHERE idempotency_key = $1`, key).
			Scan(&st, &holdID); err != nil {
			t.Fatal(err)
		}
		if st != "cancelled" || holdID == "" {
			t.Fatalf("redemption %s with hold %q, want cancelled with its hold", st, holdID)
		}
		eventually(t, 10*time.Second, "hold voided", func() bool {
			b := e.balance(t, memberID)
			return b.GetAvailable() == available && b.GetHeld() == 0
		})
		var cancelled rewardsv1.RedemptionCancelled
		e.event(t, "rewards.redemption.cancelled", &cancelled, func() bool { return cancelled.GetHoldId() == holdID })
		// A retry with the key is told the redemption was cancelled.
		_, err = e.redeem(t, key, memberID, reward.GetRewardId())
		wantReason(t, err, "REDEMPTION_CANCELLED")
	})

	t.Run("a redemption interrupted before the hold resumes on retry", func(t *testing.T) {
		t.Parallel()
		// A second rewards instance whose ledger is unreachable leaves the redemption
		// requested, as a process dying mid-way would.
		broken := startRewards(t, e, "127.0.0.1:1")
		client := rewardsv1.NewRewardsServiceClient(dial(t, broken.GRPCAddr()))
		memberID, available := e.member(t, 10000)
		reward := e.reward(t, available)
		key := "resume-" + uuid.NewString()
		req := &rewardsv1.RedeemRequest{IdempotencyKey: key, MemberId: memberID, RewardId: reward.GetRewardId()}
		_, err := client.Redeem(e.as(t, "service"), req)
		wantCode(t, err, codes.Unavailable)
		var st string
		if err := e.db.QueryRow(e.as(t, ""), `SELECT status FROM rewards.redemptions WHERE idempotency_key = $1`, key).Scan(&st); err != nil {
			t.Fatal(err)
		}
		if st != "requested" {
			t.Fatalf("status %s, want requested", st)
		}
		resp, err := e.redeem(t, key, memberID, reward.GetRewardId())
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetRedemption().GetStatus() != rewardsv1.RedemptionStatus_REDEMPTION_STATUS_COMPLETED || resp.GetCouponCode() == "" {
			t.Fatalf("resumed redemption %v with code %q", resp.GetRedemption(), resp.GetCouponCode())
		}
		eventually(t, 10*time.Second, "hold captured", func() bool {
			b := e.balance(t, memberID)
			return b.GetAvailable() == 0 && b.GetHeld() == 0
		})
	})

	t.Run("a lost response: the retry shows the same code, sealed meanwhile", func(t *testing.T) {
		t.Parallel()
		memberID, available := e.member(t, 10000)
		reward := e.reward(t, available)
		key := "lost-" + uuid.NewString()
		lost, err := e.redeem(t, key, memberID, reward.GetRewardId())
		if err != nil {
			t.Fatal(err)
		}
		// The caller never saw that answer; all it has is its key.
		code := lost.GetCouponCode()
		redemptionID := lost.GetRedemption().GetRedemptionId()
		retry, err := e.redeem(t, key, memberID, reward.GetRewardId())
		if err != nil {
			t.Fatal(err)
		}
		if retry.GetCouponCode() != code || retry.GetCouponCodeStatus() != rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_SHOWN ||
			retry.GetRedemption().GetCouponId() != lost.GetRedemption().GetCouponId() {
			t.Fatalf("retry: code %q (%s), coupon %s; want %q of coupon %s", retry.GetCouponCode(), retry.GetCouponCodeStatus(),
				retry.GetRedemption().GetCouponId(), code, lost.GetRedemption().GetCouponId())
		}
		// The database holds the code sealed, for the window, and nowhere in clear.
		e.assertNoCodeInClear(t, redemptionID, code)
		var hoursLeft float64
		if err := e.db.QueryRow(e.as(t, ""), `
			SELECT extract(epoch FROM sealed_code_until - now()) / 3600 FROM rewards.redemptions
			WHERE redemption_id = $1 AND length(sealed_code) > 0`, redemptionID).Scan(&hoursLeft); err != nil {
			t.Fatalf("sealed code: %v", err)
		}
		if hoursLeft < 23 || hoursLeft > 24 {
			t.Fatalf("the code is kept for another %.2f h, want about 24", hoursLeft)
		}
		// The retried code is the coupon, and it works once at the till.
		terminal := "till-" + uuid.NewString()[:8]
		used, err := e.rewards.RedeemCoupon(e.as(t, "pos"), &rewardsv1.RedeemCouponRequest{Code: retry.GetCouponCode(), TerminalId: terminal, StoreId: "store-2"})
		if err != nil || used.GetCouponId() != lost.GetRedemption().GetCouponId() {
			t.Fatalf("redeem the retried code: %v, %v", used, err)
		}
		_, err = e.rewards.RedeemCoupon(e.as(t, "pos"), &rewardsv1.RedeemCouponRequest{Code: code, TerminalId: terminal, StoreId: "store-2"})
		wantReason(t, err, "COUPON_ALREADY_REDEEMED")
		// Only the same request gets it: the key with another reward is refused.
		other := e.reward(t, 1)
		_, err = e.redeem(t, key, memberID, other.GetRewardId())
		wantReason(t, err, "IDEMPOTENCY_KEY_REUSED")
	})

	t.Run("after the retry window the code is no longer shown", func(t *testing.T) {
		t.Parallel()
		const window = 2 * time.Second
		short := startRewards(t, e, e.ledgerAddr, func(c *service.Config) { c.CodeRetryWindow = window })
		client := rewardsv1.NewRewardsServiceClient(dial(t, short.GRPCAddr()))
		memberID, available := e.member(t, 10000)
		reward := e.reward(t, available)
		req := &rewardsv1.RedeemRequest{IdempotencyKey: "window-" + uuid.NewString(), MemberId: memberID, RewardId: reward.GetRewardId()}
		first, err := client.Redeem(e.as(t, "service"), req)
		if err != nil {
			t.Fatal(err)
		}
		redemptionID := first.GetRedemption().GetRedemptionId()
		// The wiper clears the sealed code once the window has passed.
		eventually(t, window+10*time.Second, "sealed code wiped", func() bool {
			var wiped bool
			if err := e.db.QueryRow(e.as(t, ""), `SELECT sealed_code IS NULL AND sealed_code_until IS NULL FROM rewards.redemptions WHERE redemption_id = $1`,
				redemptionID).Scan(&wiped); err != nil {
				t.Fatal(err)
			}
			return wiped
		})
		late, err := client.Redeem(e.as(t, "service"), req)
		if err != nil {
			t.Fatal(err)
		}
		if late.GetCouponCode() != "" || late.GetCouponCodeStatus() != rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_NO_LONGER_SHOWN ||
			late.GetRedemption().GetStatus() != rewardsv1.RedemptionStatus_REDEMPTION_STATUS_COMPLETED ||
			late.GetRedemption().GetCouponId() != first.GetRedemption().GetCouponId() || late.GetCouponExpiresAt() == nil {
			t.Fatalf("retry after the window: %v", late)
		}
		e.assertNoCodeInClear(t, redemptionID, first.GetCouponCode())
		// The coupon itself is still good.
		v, err := e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: first.GetCouponCode(), TerminalId: "till-window"})
		if err != nil || !v.GetValid() {
			t.Fatalf("validate: %v, %v", v, err)
		}
	})

	t.Run("coupon at the till", func(t *testing.T) {
		t.Parallel()
		code, redeemed := e.coupon(t)
		terminal := "till-" + uuid.NewString()[:8]
		for _, typed := range []string{code, strings.ToLower(strings.ReplaceAll(code, "-", " "))} {
			v, err := e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: typed, TerminalId: terminal})
			if err != nil {
				t.Fatal(err)
			}
			if !v.GetValid() || v.GetReason() != "" || v.GetValueMinor() != 500 || v.GetCurrency() != "EUR" ||
				!strings.HasPrefix(v.GetRewardName(), "5 EUR off") {
				t.Fatalf("validate %q: %v", typed, v)
			}
		}
		used, err := e.rewards.RedeemCoupon(e.as(t, "pos"), &rewardsv1.RedeemCouponRequest{Code: code, TerminalId: terminal, StoreId: "store-7"})
		if err != nil {
			t.Fatal(err)
		}
		if used.GetCouponId() != redeemed.GetRedemption().GetCouponId() || used.GetValueMinor() != 500 || used.GetRedeemedAt() == nil {
			t.Fatalf("redeem coupon: %v", used)
		}
		v, err := e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: code, TerminalId: terminal})
		if err != nil || v.GetValid() || v.GetReason() != "ALREADY_REDEEMED" {
			t.Fatalf("validate a used code: %v, %v", v, err)
		}
		_, err = e.rewards.RedeemCoupon(e.as(t, "pos"), &rewardsv1.RedeemCouponRequest{Code: code, TerminalId: terminal, StoreId: "store-7"})
		wantReason(t, err, "COUPON_ALREADY_REDEEMED")

		var ev rewardsv1.CouponRedeemed
		e.event(t, "rewards.coupon.redeemed", &ev, func() bool { return ev.GetCouponId() == used.GetCouponId() })
		if ev.GetStoreId() != "store-7" || ev.GetTerminalId() != terminal || ev.GetValueMinor() != 500 {
			t.Fatalf("coupon.redeemed %v", &ev)
		}

		unknown := "ZZZZ-ZZZZ-ZZZZ-ZZZZ"
		v, err = e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: unknown, TerminalId: terminal})
		if err != nil || v.GetValid() || v.GetReason() != "NOT_FOUND" {
			t.Fatalf("validate an unknown code: %v, %v", v, err)
		}
		v, err = e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: "not a code at all", TerminalId: terminal})
		if err != nil || v.GetReason() != "NOT_FOUND" {
			t.Fatalf("validate garbage: %v, %v", v, err)
		}
		_, err = e.rewards.RedeemCoupon(e.as(t, "pos"), &rewardsv1.RedeemCouponRequest{Code: unknown, TerminalId: terminal, StoreId: "store-7"})
		wantCode(t, err, codes.NotFound)
	})

	t.Run("expired coupon", func(t *testing.T) {
		t.Parallel()
		code, redeemed := e.coupon(t)
		if _, err := e.db.Exec(e.as(t, ""), `UPDATE rewards.coupons SET expires_at = now() - interval '1 second' WHERE coupon_id = $1`,
			redeemed.GetRedemption().GetCouponId()); err != nil {
			t.Fatal(err)
		}
		terminal := "till-" + uuid.NewString()[:8]
		v, err := e.rewards.ValidateCoupon(e.as(t, "admin"), &rewardsv1.ValidateCouponRequest{Code: code, TerminalId: terminal})
		if err != nil || v.GetValid() || v.GetReason() != "EXPIRED" {
			t.Fatalf("validate an expired code: %v, %v", v, err)
		}
		_, err = e.rewards.RedeemCoupon(e.as(t, "admin"), &rewardsv1.RedeemCouponRequest{Code: code, TerminalId: terminal, StoreId: "s"})
		wantReason(t, err, "COUPON_EXPIRED")
	})

	t.Run("concurrent uses of one code: exactly one wins", func(t *testing.T) {
		t.Parallel()
		code, _ := e.coupon(t)
		const callers = 20
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			won, lost int
		)
		for i := range callers {
			wg.Go(func() {
				_, err := e.rewards.RedeemCoupon(e.as(t, "pos"), &rewardsv1.RedeemCouponRequest{
					Code: code, TerminalId: fmt.Sprintf("race-%d-%s", i, code[:4]), StoreId: "store-1",
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case grpcx.Reason(err) == "COUPON_ALREADY_REDEEMED":
					lost++
				default:
					t.Errorf("redeem coupon: %v", err)
				}
			})
		}
		wg.Wait()
		if won != 1 || lost != callers-1 {
			t.Fatalf("%d won and %d lost, want 1 and %d", won, lost, callers-1)
		}
	})

	t.Run("attempts are limited per terminal", func(t *testing.T) {
		t.Parallel()
		terminal := "guesser-" + uuid.NewString()[:8]
		for i := range 30 {
			req := &rewardsv1.ValidateCouponRequest{Code: fmt.Sprintf("AAAA-AAAA-AAAA-%04d", i), TerminalId: terminal}
			if _, err := e.rewards.ValidateCoupon(e.as(t, "pos"), req); err != nil {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		_, err := e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: terminal})
		wantCode(t, err, codes.ResourceExhausted)
		_, err = e.rewards.RedeemCoupon(e.as(t, "pos"), &rewardsv1.RedeemCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: terminal, StoreId: "s"})
		wantCode(t, err, codes.ResourceExhausted)
		_, err = e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: terminal + "-other"})
		if err != nil {
			t.Fatalf("another terminal is limited too: %v", err)
		}
	})

	t.Run("requests are validated and authorised", func(t *testing.T) {
		t.Parallel()
		validReward := &rewardsv1.CreateRewardRequest{Name: "x", Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON, PointsPrice: 1, ValueMinor: 1, Currency: "EUR"}
		validRedeem := &rewardsv1.RedeemRequest{IdempotencyKey: "auth-key-1", MemberId: uuid.NewString(), RewardId: uuid.NewString()}
		validCode := &rewardsv1.ValidateCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: "auth-till"}
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
			}, validRedeem, &rewardsv1.RedeemRequest{IdempotencyKey: "short", MemberId: uuid.NewString(), RewardId: uuid.NewString()}, "idempotency_key", "pos", "auditor"},
			{"ValidateCoupon", func(ctx context.Context, m proto.Message) error {
				_, err := e.rewards.ValidateCoupon(ctx, m.(*rewardsv1.ValidateCouponRequest))
				return err
			}, validCode, &rewardsv1.ValidateCouponRequest{Code: "AAAA", TerminalId: "auth-till"}, "code", "pos", "service"},
			{"RedeemCoupon", func(ctx context.Context, m proto.Message) error {
				_, err := e.rewards.RedeemCoupon(ctx, m.(*rewardsv1.RedeemCouponRequest))
				return err
			}, validUse, &rewardsv1.RedeemCouponRequest{Code: "AAAA-AAAA-AAAA-AAAA", TerminalId: "auth-till"}, "store_id", "admin", "marketing"},
		}
		for _, m := range methods {
			t.Run(m.name, func(t *testing.T) {
				if m.invalid != nil {
					err := m.call(e.as(t, m.allowed), m.invalid)
					wantCode(t, err, codes.InvalidArgument)
					if !namesField(err, m.field) {
						t.Fatalf("%v does not name the field %s", err, m.field)
					}
				}
				wantCode(t, m.call(e.as(t, ""), m.valid), codes.Unauthenticated)
				wantCode(t, m.call(grpcx.WithAPIKey(e.as(t, ""), "not-a-key"), m.valid), codes.Unauthenticated)
				wantCode(t, m.call(e.as(t, m.forbidden), m.valid), codes.PermissionDenied)
			})
		}
	})
}

// assertNoCodeInClear fails if the rows of a redemption and its coupon hold the code, in
// any spelling, or if the outbox does.
func (e *env) assertNoCodeInClear(t *testing.T, redemptionID, code string) {
	t.Helper()
	if code == "" {
		t.Fatal("no code to look for")
	}
	var rows string
	if err := e.db.QueryRow(e.as(t, ""), `
		SELECT r::text || coalesce((SELECT string_agg(c::text, '') FROM rewards.coupons c WHERE c.redemption_id = r.redemption_id), '')
			|| encode(coalesce(r.sealed_code, ''), 'escape')
			|| coalesce((SELECT string_agg(encode(o.payload, 'escape'), '') FROM rewards.outbox o), '')
		FROM rewards.redemptions r WHERE r.redemption_id = $1`, redemptionID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	for _, spelling := range []string{normalised(code), code, strings.ToLower(normalised(code))} {
		if strings.Contains(strings.ToUpper(rows), strings.ToUpper(spelling)) {
			t.Fatalf("the database holds the code %s in clear", code)
		}
	}
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

// TestAbandonedRedemptionsAreSettled kills a rewards process in the middle of a Redeem,
// after the ledger placed the hold and before the coupon was issued, and checks that the
// settlers of two surviving instances complete the redemption exactly once: one coupon,
// one capture of the one hold, one completion event. The caller's retry then gets the
// coupon's code.
func TestAbandonedRedemptionsAreSettled(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *service.Config) {
		c.SettleAfter = 1500 * time.Millisecond
		c.SweepInterval = 50 * time.Millisecond
	})
	// A second instance: two settlers compete for every abandoned redemption.
	startRewards(t, e, e.ledgerAddr)

	t.Run("killed after the hold: completed once", func(t *testing.T) {
		t.Parallel()
		ctx := e.as(t, "")
		memberID, available := e.member(t, 10000)
		price := available / 2
		reward := e.reward(t, price)
		child := startRewardsProcess(t, e)
		client := rewardsv1.NewRewardsServiceClient(dial(t, child.addr))

		// Holding the coupons table makes the child's completion wait after the hold.
		tx, err := e.db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if _, err := tx.Exec(ctx, `LOCK TABLE rewards.coupons IN SHARE MODE`); err != nil {
			t.Fatal(err)
		}
		key := "crash-" + uuid.NewString()
		done := make(chan error, 1)
		go func() {
			_, err := client.Redeem(e.as(t, "service"), &rewardsv1.RedeemRequest{
				IdempotencyKey: key, MemberId: memberID, RewardId: reward.GetRewardId(),
			})
			done <- err
		}()
		var redemptionID string
		eventually(t, 10*time.Second, "the child's hold placed", func() bool {
			return e.db.QueryRow(ctx, `
				SELECT r.redemption_id::text FROM rewards.redemptions r
				JOIN ledger.holds h ON h.reference = 'redemption:' || r.redemption_id
				WHERE r.idempotency_key = $1 AND h.status = 'placed'`, key).Scan(&redemptionID) == nil
		})
		child.kill(t)
		if err := <-done; err == nil {
			t.Fatal("the Redeem of the killed process answered")
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		// The crash left the redemption requested and the points held.
		if st := e.redemptionStatus(t, redemptionID); st != "requested" {
			t.Fatalf("after the kill the redemption is %s, want requested", st)
		}
		if b := e.balance(t, memberID); b.GetHeld() != price {
			t.Fatalf("after the kill %d points are held, want %d", b.GetHeld(), price)
		}

		eventually(t, 20*time.Second, "the redemption settled", func() bool { return e.redemptionStatus(t, redemptionID) != "requested" })
		if st := e.redemptionStatus(t, redemptionID); st != "completed" {
			t.Fatalf("the settler left the redemption %s, want completed", st)
		}
		eventually(t, 10*time.Second, "hold captured", func() bool {
			b := e.balance(t, memberID)
			return b.GetAvailable() == available-price && b.GetHeld() == 0
		})
		// Exactly once: one hold, captured; in the journal one hold and one capture;
		// one coupon; one completion event.
		var holds []string
		if err := e.db.QueryRow(ctx, `SELECT array_agg(status) FROM ledger.holds WHERE reference = $1`,
			"redemption:"+redemptionID).Scan(&holds); err != nil {
			t.Fatal(err)
		}
		var journal []string
		if err := e.db.QueryRow(ctx, `SELECT array_agg(kind ORDER BY id) FROM ledger.transactions WHERE reference = $1`,
			"redemption:"+redemptionID).Scan(&journal); err != nil {
			t.Fatal(err)
		}
		var coupons int
		if err := e.db.QueryRow(ctx, `SELECT count(*) FROM rewards.coupons WHERE redemption_id = $1`, redemptionID).Scan(&coupons); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(holds) != "[captured]" || fmt.Sprint(journal) != "[hold capture]" || coupons != 1 {
			t.Fatalf("holds %v, journal %v, %d coupons; want one hold captured once and one coupon", holds, journal, coupons)
		}
		if n := e.countEvents(t, "rewards.redemption.completed", &rewardsv1.RedemptionCompleted{}, func(m proto.Message) bool {
			return m.(*rewardsv1.RedemptionCompleted).GetRedemptionId() == redemptionID
		}); n != 1 {
			t.Fatalf("%d redemption.completed events, want 1", n)
		}

		// The caller's retry gets the code the settler issued; it works once at the till.
		resp, err := e.redeem(t, key, memberID, reward.GetRewardId())
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetRedemption().GetRedemptionId() != redemptionID || resp.GetCouponCode() == "" ||
			resp.GetCouponCodeStatus() != rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_SHOWN {
			t.Fatalf("retry after the settler: %v", resp)
		}
		e.assertNoCodeInClear(t, redemptionID, resp.GetCouponCode())
		used := &rewardsv1.RedeemCouponRequest{Code: resp.GetCouponCode(), TerminalId: "till-crash", StoreId: "store-3"}
		if _, err := e.rewards.RedeemCoupon(e.as(t, "pos"), used); err != nil {
			t.Fatal(err)
		}
		_, err = e.rewards.RedeemCoupon(e.as(t, "pos"), used)
		wantReason(t, err, "COUPON_ALREADY_REDEEMED")
	})

	t.Run("stopped before the hold, without the points: cancelled", func(t *testing.T) {
		t.Parallel()
		// An instance whose ledger is unreachable leaves the redemption requested, as a
		// process dying before the hold would; it settles nothing itself.
		broken := startRewards(t, e, "127.0.0.1:1", func(c *service.Config) { c.SettleAfter = time.Hour })
		client := rewardsv1.NewRewardsServiceClient(dial(t, broken.GRPCAddr()))
		memberID, available := e.member(t, 10000)
		reward := e.reward(t, available+1)
		key := "poor-abandoned-" + uuid.NewString()
		resp, err := client.Redeem(e.as(t, "service"), &rewardsv1.RedeemRequest{IdempotencyKey: key, MemberId: memberID, RewardId: reward.GetRewardId()})
		wantCode(t, err, codes.Unavailable)
		_ = resp
		var redemptionID string
		if err := e.db.QueryRow(e.as(t, ""), `SELECT redemption_id::text FROM rewards.redemptions WHERE idempotency_key = $1`, key).
			Scan(&redemptionID); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the redemption settled", func() bool { return e.redemptionStatus(t, redemptionID) != "requested" })
		var st, reason string
		if err := e.db.QueryRow(e.as(t, ""), `SELECT status, cancel_reason FROM rewards.redemptions WHERE redemption_id = $1`, redemptionID).
			Scan(&st, &reason); err != nil {
			t.Fatal(err)
		}
		if st != "cancelled" || reason != "insufficient_points" {
			t.Fatalf("redemption %s (%s), want cancelled for insufficient points", st, reason)
		}
		if b := e.balance(t, memberID); b.GetAvailable() != available || b.GetHeld() != 0 {
			t.Fatalf("balance %v, want %d available and nothing held", b, available)
		}
		_, err = e.redeem(t, key, memberID, reward.GetRewardId())
		wantReason(t, err, "INSUFFICIENT_POINTS")
	})
}

func (e *env) redemptionStatus(t *testing.T, id string) string {
	t.Helper()
	var st string
	if err := e.db.QueryRow(e.as(t, ""), `SELECT status FROM rewards.redemptions WHERE redemption_id = $1`, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// countEvents counts the events on subject that match accepts, once at least one is there
// and a moment later no more arrive.
func (e *env) countEvents(t *testing.T, subject string, msg proto.Message, match func(proto.Message) bool) int {
	t.Helper()
	count := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cons, err := e.js.OrderedConsumer(ctx, strings.ToUpper(e.ns)+"REWARDS", jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{e.ns + subject},
		})
		if err != nil {
			t.Fatalf("consumer: %v", err)
		}
		batch, err := cons.FetchNoWait(1000)
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		n := 0
		for m := range batch.Messages() {
			if err := proto.Unmarshal(m.Data(), msg); err != nil {
				t.Fatalf("decode %s: %v", subject, err)
			}
			if match(msg) {
				n++
			}
		}
		return n
	}
	var n int
	eventually(t, 10*time.Second, "event on "+subject, func() bool { n = count(); return n > 0 })
	time.Sleep(300 * time.Millisecond) // a second event would have been published with the first
	return count()
}

// rewardsProcess is a rewards service in a process of its own: this test binary run
// as TestRewardsProcess.
type rewardsProcess struct {
	cmd    *exec.Cmd
	addr   string
	waited chan struct{}
}

const rewardsProcessEnv = "TREUE_TEST_REWARDS_PROCESS"

func startRewardsProcess(t *testing.T, e *env) *rewardsProcess {
	t.Helper()
	// The timeout ends the process should this test binary die without killing it.
	cmd := exec.Command(os.Args[0], "-test.run=^TestRewardsProcess$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(),
		rewardsProcessEnv+"=1",
		"DATABASE_URL="+e.base.DatabaseURL,
		"NATS_URL="+e.base.NATSURL,
		"TREUE_NAMESPACE="+e.ns,
		"API_KEYS="+e.base.APIKeys,
		"STREAM_REPLICAS=1",
		"REWARDS_GRPC_ADDR=127.0.0.1:0",
		"REWARDS_HTTP_ADDR=",
		"REWARDS_DB_MAX_CONNS=4",
		"REWARDS_LEDGER_ADDR="+e.ledgerAddr,
		"SERVICE_API_KEY="+e.keys["service"],
		"REWARDS_CODE_KEY="+e.codeKey,
		// It is to be killed, not to settle.
		"REWARDS_SETTLE_AFTER=1h",
	)
	var stderr strings.Builder
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	} else {
		cmd.Stderr = &stderr
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &rewardsProcess{cmd: cmd, waited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "rewards-grpc "); ok {
				addr <- a
			}
		}
		_ = cmd.Wait()
		close(p.waited)
	}()
	t.Cleanup(func() { p.kill(t) })
	select {
	case p.addr = <-addr:
	case <-p.waited:
		t.Fatalf("the rewards process ended during start-up:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the rewards process did not start within 30s:\n%s", stderr.String())
	}
	return p
}

// kill ends the process with SIGKILL, as a crash would: no shutdown of any kind.
func (p *rewardsProcess) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	select {
	case <-p.waited:
	case <-time.After(10 * time.Second):
		t.Error("the killed rewards process did not end")
	}
}

// TestRewardsProcess is not a test: it is the rewards process that
// TestAbandonedRedemptionsAreSettled starts, configured from the environment, and kills.
func TestRewardsProcess(t *testing.T) {
	if os.Getenv(rewardsProcessEnv) == "" {
		t.Skip("run as a process by TestAbandonedRedemptionsAreSettled")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := service.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	s, err := service.New(ctx, cfg, testLogger().With("service", "rewards", "process", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("rewards-grpc", s.GRPCAddr())
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
