package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	ledger "github.com/treue/treue/services/ledger/service"
	rewards "github.com/treue/treue/services/rewards/service"
)

// rewardsEnv is one ledger and one rewards service in one world, shared by the subtests
// of a test: redemptions place, capture and void holds in the real ledger.
type rewardsEnv struct {
	*testkit.Env
	rewards    rewardsv1.RewardsServiceClient
	ledger     ledgerv1.LedgerServiceClient
	db         *testkit.DB // the rewards schema
	ledgerAddr string
	codeKey    string // REWARDS_CODE_KEY of every rewards instance of the world
}

// startLedgerAndRewards starts a ledger and a rewards service; opts adjust the rewards
// service's configuration.
func startLedgerAndRewards(t *testing.T, opts ...func(*rewards.Config)) *rewardsEnv {
	t.Helper()
	e := &rewardsEnv{Env: testkit.NewEnv(t), codeKey: randomCodeKey()}
	lcfg, err := ledger.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	lcfg.Base = e.Base()
	lcfg.Base.DBMaxConns = 8
	lcfg.Lots.ReturnWindow = 0 // the scenarios redeem points they just earned
	l := testkit.Start(t, ledger.New, lcfg).Service
	e.ledgerAddr = l.GRPCAddr()
	r := startRewards(t, e, e.ledgerAddr, opts...).Service
	e.rewards = rewardsv1.NewRewardsServiceClient(e.Conn(r.GRPCAddr(), ""))
	e.ledger = ledgerv1.NewLedgerServiceClient(e.Conn(l.GRPCAddr(), ""))
	e.db = e.DB(rewards.Name)
	return e
}

// randomCodeKey is a REWARDS_CODE_KEY: 32 random bytes in hex.
func randomCodeKey() string {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return hex.EncodeToString(k)
}

// startRewards starts a rewards service in e's world that calls the ledger at
// ledgerAddr; opts adjust its configuration.
func startRewards(t *testing.T, e *rewardsEnv, ledgerAddr string, opts ...func(*rewards.Config)) *testkit.Running[*rewards.Service] {
	t.Helper()
	cfg := rewards.Config{
		Base:                    e.Base(),
		LedgerAddr:              ledgerAddr,
		ServiceAPIKey:           e.Key("service"),
		LedgerTimeout:           3 * time.Second,
		HoldTTL:                 24 * time.Hour,
		CouponAttemptsPerMinute: 30,
		// The subtests share the pos key and its store; TestSecurity tests the lockout.
		CouponMaxFailures: 100000,
		// One key for every instance, as for replicas: a retry reaching another
		// instance still gets the code.
		CodeKey:         e.codeKey,
		CodeRetryWindow: 24 * time.Hour,
		// Far off, so that no settler races the subtests' own redemptions; the tests of
		// the settler shorten it.
		SettleAfter: time.Hour,
	}
	cfg.Base.DBMaxConns = 8
	for _, o := range opts {
		o(&cfg)
	}
	return testkit.Start(t, rewards.New, cfg)
}

// as returns a context for a call with role's key ("" for none).
func (e *rewardsEnv) as(t *testing.T, role string) context.Context { return e.For(t).As(role) }

// member enrols a member in the ledger and credits them points through a POS purchase;
// it returns the member's id and available points.
func (e *rewardsEnv) member(t *testing.T, totalMinor int64) (string, int64) {
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
	e.For(t).Publish("pos.purchase.recorded.store-1", eventID, &posv1.PurchaseRecorded{
		EventId: eventID, StoreId: "store-1", TransactionId: "tx-" + eventID, MemberId: id,
		OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: totalMinor,
	})
	var available int64
	testkit.Eventually(t, 10*time.Second, "purchase credited", func() bool {
		available = e.balance(t, id).GetAvailable()
		return available > 0
	})
	return id, available
}

func (e *rewardsEnv) balance(t *testing.T, memberID string) *ledgerv1.GetBalanceResponse {
	t.Helper()
	b, err := e.ledger.GetBalance(e.as(t, "admin"), &ledgerv1.GetBalanceRequest{MemberId: memberID})
	if err != nil {
		t.Fatalf("balance: %v", err)
	}
	return b
}

func (e *rewardsEnv) reward(t *testing.T, price int64) *rewardsv1.Reward {
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

func (e *rewardsEnv) redeem(t *testing.T, key, memberID, rewardID string) (*rewardsv1.RedeemResponse, error) {
	t.Helper()
	return e.rewards.Redeem(e.as(t, "service"), &rewardsv1.RedeemRequest{
		IdempotencyKey: key, MemberId: memberID, RewardId: rewardID,
	})
}

// coupon redeems a reward for a fresh member and returns the coupon's code.
func (e *rewardsEnv) coupon(t *testing.T) (string, *rewardsv1.RedeemResponse) {
	t.Helper()
	memberID, available := e.member(t, 10000)
	reward := e.reward(t, available)
	resp, err := e.redeem(t, "coupon-"+uuid.NewString(), memberID, reward.GetRewardId())
	if err != nil {
		t.Fatalf("redeem: %v", err)
	}
	return resp.GetCouponCode(), resp
}

func normalised(code string) string {
	return strings.ToUpper(strings.ReplaceAll(code, "-", ""))
}

// TestRewardsWithTheLedger redeems rewards against a real ledger: holds placed,
// captured and voided, coupons issued and used at the till.
func TestRewardsWithTheLedger(t *testing.T) {
	t.Parallel()
	e := startLedgerAndRewards(t)

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
		testkit.Eventually(t, 10*time.Second, "hold captured", func() bool {
			b := e.balance(t, memberID)
			return b.GetAvailable() == available-price && b.GetHeld() == 0
		})
		completed := testkit.WaitEvent(e.For(t), testkit.Subject(&rewardsv1.RedemptionCompleted{}), func(ev *rewardsv1.RedemptionCompleted) bool {
			return ev.GetRedemptionId() == red.GetRedemptionId()
		})
		if completed.GetHoldId() != red.GetHoldId() || completed.GetPoints() != price {
			t.Fatalf("completed event %v", completed)
		}
		issued := testkit.WaitEvent(e.For(t), testkit.Subject(&rewardsv1.CouponIssued{}), func(ev *rewardsv1.CouponIssued) bool {
			return ev.GetCouponId() == red.GetCouponId()
		})
		if issued.GetRedemptionId() != red.GetRedemptionId() || issued.GetValueMinor() != 500 || issued.GetCurrency() != "EUR" {
			t.Fatalf("issued event %v", issued)
		}
		// Everything the event carries, unknown fields too.
		raw, err := proto.Marshal(issued)
		if err != nil {
			t.Fatal(err)
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
		// A lost response loses nothing: the retry shows the same code.
		if again.GetCouponCode() != first.GetCouponCode() ||
			again.GetCouponCodeStatus() != rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_SHOWN {
			t.Fatalf("the retry shows code %q (%s), want the first call's", again.GetCouponCode(), again.GetCouponCodeStatus())
		}
		if !again.GetCouponExpiresAt().AsTime().Equal(first.GetCouponExpiresAt().AsTime()) {
			t.Fatal("the retry reports another expiry")
		}
		testkit.Eventually(t, 10*time.Second, "one hold captured, no second", func() bool {
			b := e.balance(t, memberID)
			return b.GetAvailable() == available-available/4 && b.GetHeld() == 0
		})
		other := e.reward(t, 1)
		_, err = e.redeem(t, key, memberID, other.GetRewardId())
		testkit.WantReason(t, err, "IDEMPOTENCY_KEY_REUSED")
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
		testkit.Eventually(t, 10*time.Second, "one hold captured", func() bool {
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
		testkit.WantReason(t, err, "INSUFFICIENT_POINTS")
		_, err = e.redeem(t, key, memberID, reward.GetRewardId())
		testkit.WantReason(t, err, "INSUFFICIENT_POINTS")
		b := e.balance(t, memberID)
		if b.GetAvailable() != available || b.GetHeld() != 0 {
			t.Fatalf("balance %v, want %d available and nothing held", b, available)
		}
		var st, reason string
		if err := e.db.QueryRow(e.as(t, ""), `SELECT status, cancel_reason FROM rewards.redemptions WHERE idempotency_key = 'service/' || $1`, key).
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
		testkit.WantCode(t, err, codes.NotFound)
		reward := e.reward(t, 1)
		if _, err := e.db.Exec(e.as(t, ""), `UPDATE rewards.rewards SET active = false WHERE reward_id = $1`, reward.GetRewardId()); err != nil {
			t.Fatal(err)
		}
		_, err = e.redeem(t, "inactive-"+uuid.NewString(), memberID, reward.GetRewardId())
		testkit.WantReason(t, err, "REWARD_INACTIVE")
		active := e.reward(t, 1)
		_, err = e.redeem(t, "stranger-"+uuid.NewString(), uuid.NewString(), active.GetRewardId())
		testkit.WantCode(t, err, codes.NotFound)
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
		testkit.WantCode(t, err, codes.Internal)
		if _, err := e.db.Exec(ctx, `DROP TRIGGER `+fn+` ON rewards.coupons`); err != nil {
			t.Fatal(err)
		}
		var st, holdID string
		if err := e.db.QueryRow(ctx, `SELECT status, coalesce(hold_id::text, '') FROM rewards.redemptions WHERE idempotency_key = 'service/' || $1`, key).
			Scan(&st, &holdID); err != nil {
			t.Fatal(err)
		}
		if st != "cancelled" || holdID == "" {
			t.Fatalf("redemption %s with hold %q, want cancelled with its hold", st, holdID)
		}
		testkit.Eventually(t, 10*time.Second, "hold voided", func() bool {
			b := e.balance(t, memberID)
			return b.GetAvailable() == available && b.GetHeld() == 0
		})
		testkit.WaitEvent(e.For(t), testkit.Subject(&rewardsv1.RedemptionCancelled{}), func(ev *rewardsv1.RedemptionCancelled) bool { return ev.GetHoldId() == holdID })
		// A retry with the key is told the redemption was cancelled.
		_, err = e.redeem(t, key, memberID, reward.GetRewardId())
		testkit.WantReason(t, err, "REDEMPTION_CANCELLED")
	})

	t.Run("a redemption interrupted before the hold resumes on retry", func(t *testing.T) {
		t.Parallel()
		// A second rewards instance whose ledger is unreachable leaves the redemption
		// requested, as a process dying mid-way would.
		broken := startRewards(t, e, "127.0.0.1:1").Service
		client := rewardsv1.NewRewardsServiceClient(e.For(t).Conn(broken.GRPCAddr(), ""))
		memberID, available := e.member(t, 10000)
		reward := e.reward(t, available)
		key := "resume-" + uuid.NewString()
		req := &rewardsv1.RedeemRequest{IdempotencyKey: key, MemberId: memberID, RewardId: reward.GetRewardId()}
		_, err := client.Redeem(e.as(t, "service"), req)
		testkit.WantCode(t, err, codes.Unavailable)
		var st string
		if err := e.db.QueryRow(e.as(t, ""), `SELECT status FROM rewards.redemptions WHERE idempotency_key = 'service/' || $1`, key).Scan(&st); err != nil {
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
		testkit.Eventually(t, 10*time.Second, "hold captured", func() bool {
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
		testkit.WantReason(t, err, "COUPON_ALREADY_REDEEMED")
		// Only the same request gets it: the key with another reward is refused.
		other := e.reward(t, 1)
		_, err = e.redeem(t, key, memberID, other.GetRewardId())
		testkit.WantReason(t, err, "IDEMPOTENCY_KEY_REUSED")
	})

	t.Run("after the retry window the code is no longer shown", func(t *testing.T) {
		t.Parallel()
		const window = 2 * time.Second
		short := startRewards(t, e, e.ledgerAddr, func(c *rewards.Config) {
			c.CodeRetryWindow = window
			c.SweepInterval = 100 * time.Millisecond
		}).Service
		client := rewardsv1.NewRewardsServiceClient(e.For(t).Conn(short.GRPCAddr(), ""))
		memberID, available := e.member(t, 10000)
		reward := e.reward(t, available)
		req := &rewardsv1.RedeemRequest{IdempotencyKey: "window-" + uuid.NewString(), MemberId: memberID, RewardId: reward.GetRewardId()}
		first, err := client.Redeem(e.as(t, "service"), req)
		if err != nil {
			t.Fatal(err)
		}
		redemptionID := first.GetRedemption().GetRedemptionId()
		// The wiper clears the sealed code once the window has passed.
		testkit.Eventually(t, window+30*time.Second, "sealed code wiped", func() bool {
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
		v, err := e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: first.GetCouponCode(), TerminalId: "till-window", StoreId: "berlin-01"})
		if err != nil || !v.GetValid() {
			t.Fatalf("validate: %v, %v", v, err)
		}
	})

	t.Run("coupon at the till", func(t *testing.T) {
		t.Parallel()
		code, redeemed := e.coupon(t)
		terminal := "till-" + uuid.NewString()[:8]
		for _, typed := range []string{code, strings.ToLower(strings.ReplaceAll(code, "-", " "))} {
			v, err := e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: typed, TerminalId: terminal, StoreId: "berlin-01"})
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
		v, err := e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: code, TerminalId: terminal, StoreId: "berlin-01"})
		if err != nil || v.GetValid() || v.GetReason() != "ALREADY_REDEEMED" {
			t.Fatalf("validate a used code: %v, %v", v, err)
		}
		_, err = e.rewards.RedeemCoupon(e.as(t, "pos"), &rewardsv1.RedeemCouponRequest{Code: code, TerminalId: terminal, StoreId: "store-7"})
		testkit.WantReason(t, err, "COUPON_ALREADY_REDEEMED")

		ev := testkit.WaitEvent(e.For(t), testkit.Subject(&rewardsv1.CouponRedeemed{}), func(ev *rewardsv1.CouponRedeemed) bool { return ev.GetCouponId() == used.GetCouponId() })
		if ev.GetStoreId() != "store-7" || ev.GetTerminalId() != terminal || ev.GetValueMinor() != 500 {
			t.Fatalf("coupon.redeemed %v", ev)
		}

		unknown := "ZZZZ-ZZZZ-ZZZZ-ZZZZ"
		v, err = e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: unknown, TerminalId: terminal, StoreId: "berlin-01"})
		if err != nil || v.GetValid() || v.GetReason() != "NOT_FOUND" {
			t.Fatalf("validate an unknown code: %v, %v", v, err)
		}
		v, err = e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: "not a code at all", TerminalId: terminal, StoreId: "berlin-01"})
		if err != nil || v.GetReason() != "NOT_FOUND" {
			t.Fatalf("validate garbage: %v, %v", v, err)
		}
		_, err = e.rewards.RedeemCoupon(e.as(t, "pos"), &rewardsv1.RedeemCouponRequest{Code: unknown, TerminalId: terminal, StoreId: "store-7"})
		testkit.WantCode(t, err, codes.NotFound)
	})

	t.Run("expired coupon", func(t *testing.T) {
		t.Parallel()
		code, redeemed := e.coupon(t)
		if _, err := e.db.Exec(e.as(t, ""), `UPDATE rewards.coupons SET expires_at = now() - interval '1 second' WHERE coupon_id = $1`,
			redeemed.GetRedemption().GetCouponId()); err != nil {
			t.Fatal(err)
		}
		terminal := "till-" + uuid.NewString()[:8]
		v, err := e.rewards.ValidateCoupon(e.as(t, "admin"), &rewardsv1.ValidateCouponRequest{Code: code, TerminalId: terminal, StoreId: "berlin-01"})
		if err != nil || v.GetValid() || v.GetReason() != "EXPIRED" {
			t.Fatalf("validate an expired code: %v, %v", v, err)
		}
		_, err = e.rewards.RedeemCoupon(e.as(t, "admin"), &rewardsv1.RedeemCouponRequest{Code: code, TerminalId: terminal, StoreId: "s"})
		testkit.WantReason(t, err, "COUPON_EXPIRED")
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
}

// assertNoCodeInClear fails if the rows of a redemption and its coupon hold the code, in
// any spelling, or if the outbox does.
func (e *rewardsEnv) assertNoCodeInClear(t *testing.T, redemptionID, code string) {
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
