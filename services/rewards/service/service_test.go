package service_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
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
}

var roles = []string{"admin", "marketing", "service_agent", "pos", "auditor", "service"}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func start(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := &env{keys: map[string]string{}, ns: testkit.Namespace(t)}
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
// ledger at ledgerAddr.
func startRewards(t *testing.T, e *env, ledgerAddr string) *service.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := service.New(ctx, service.Config{
		Base:                    e.base,
		LedgerAddr:              ledgerAddr,
		ServiceAPIKey:           e.keys["service"],
		LedgerTimeout:           3 * time.Second,
		HoldTTL:                 24 * time.Hour,
		CouponAttemptsPerMinute: 30,
	}, testLogger().With("service", "rewards"))
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
		if again.GetCouponCode() != "" {
			t.Fatal("the retry shows the code again")
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
			codes []string
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
				if resp.GetCouponCode() != "" {
					codes = append(codes, resp.GetCouponCode())
				}
			})
		}
		wg.Wait()
		if len(ids) != 1 || len(codes) != 1 {
			t.Fatalf("%d redemptions and %d codes, want one of each", len(ids), len(codes))
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
