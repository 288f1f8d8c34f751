package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	"github.com/treue/treue/pkg/testkit"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	rewards "github.com/treue/treue/services/rewards/service"
)

// settleSoon makes a rewards instance settle what was left requested for 1.5 s.
func settleSoon(c *rewards.Config) {
	c.SettleAfter = 1500 * time.Millisecond
	c.SweepInterval = 50 * time.Millisecond
}

// TestAbandonedRedemptionsAreSettled kills a rewards process in the middle of a Redeem,
// after the ledger placed the hold and before the coupon was issued, and checks that the
// settlers of two surviving instances complete the redemption exactly once: one coupon,
// one capture of the one hold, one completion event. The caller's retry then gets the
// coupon's code. Each subtest has a world of its own, so that its settlers settle only
// its redemptions and it can stop them to count what they published.
func TestAbandonedRedemptionsAreSettled(t *testing.T) {
	t.Parallel()

	t.Run("killed after the hold: completed once", func(t *testing.T) {
		t.Parallel()
		// The instance the caller retries with settles nothing; two others compete for
		// every abandoned redemption.
		e := startLedgerAndRewards(t)
		settlers := []*testkit.Running[*rewards.Service]{
			startRewards(t, e, e.ledgerAddr, settleSoon),
			startRewards(t, e, e.ledgerAddr, settleSoon),
		}
		ctx := e.as(t, "")
		memberID, available := e.member(t, 10000)
		price := available / 2
		reward := e.reward(t, price)
		child := startRewardsProcess(t, e)
		client := rewardsv1.NewRewardsServiceClient(testkit.Dial(t, child.addr, ""))

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
		testkit.Eventually(t, 30*time.Second, "the child's hold placed", func() bool {
			return e.db.QueryRow(ctx, `
				SELECT r.redemption_id::text FROM rewards.redemptions r
				JOIN ledger.holds h ON h.reference = 'redemption:' || r.redemption_id
				WHERE r.idempotency_key = 'service/' || $1 AND h.status = 'placed'`, key).Scan(&redemptionID) == nil
		})
		child.kill(t)
		if err := <-done; err == nil {
			t.Fatal("the Redeem of the killed process answered")
		}
		// The crash left the redemption requested and the points held. Looked at while
		// the lock still holds back a settler that may have claimed it already.
		if st := e.redemptionStatus(t, redemptionID); st != "requested" {
			t.Fatalf("after the kill the redemption is %s, want requested", st)
		}
		if b := e.balance(t, memberID); b.GetHeld() != price {
			t.Fatalf("after the kill %d points are held, want %d", b.GetHeld(), price)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}

		testkit.Eventually(t, 60*time.Second, "the redemption settled", func() bool { return e.redemptionStatus(t, redemptionID) != "requested" })
		if st := e.redemptionStatus(t, redemptionID); st != "completed" {
			t.Fatalf("the settler left the redemption %s, want completed", st)
		}
		testkit.Eventually(t, 30*time.Second, "hold captured", func() bool {
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
		// Once the settlers have stopped and the outbox is empty, every event they
		// wrote is in the stream: nothing can add a second completion after the count.
		for _, s := range settlers {
			if err := s.Stop(); err != nil {
				t.Fatalf("a settler stopped with: %v", err)
			}
		}
		testkit.Eventually(t, 30*time.Second, "the outbox published", func() bool {
			return e.db.Count(`SELECT count(*) FROM rewards.outbox`) == 0
		})
		completed := 0
		for _, ev := range testkit.Events[*rewardsv1.RedemptionCompleted](e.For(t), testkit.Subject(&rewardsv1.RedemptionCompleted{})) {
			if ev.GetRedemptionId() == redemptionID {
				completed++
			}
		}
		if completed != 1 {
			t.Fatalf("%d redemption.completed events, want 1", completed)
		}

		// The caller's retry, at an instance that did not settle it, gets the code the
		// settler issued; it works once at the till.
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
		testkit.WantReason(t, err, "COUPON_ALREADY_REDEEMED")
	})

	t.Run("stopped before the hold, without the points: cancelled", func(t *testing.T) {
		t.Parallel()
		// Two settlers compete for every abandoned redemption.
		e := startLedgerAndRewards(t, settleSoon)
		startRewards(t, e, e.ledgerAddr, settleSoon)
		// An instance whose ledger is unreachable leaves the redemption requested, as a
		// process dying before the hold would; it settles nothing itself.
		broken := startRewards(t, e, "127.0.0.1:1").Service
		client := rewardsv1.NewRewardsServiceClient(e.For(t).Conn(broken.GRPCAddr(), ""))
		memberID, available := e.member(t, 10000)
		reward := e.reward(t, available+1)
		key := "poor-abandoned-" + uuid.NewString()
		_, err := client.Redeem(e.as(t, "service"), &rewardsv1.RedeemRequest{IdempotencyKey: key, MemberId: memberID, RewardId: reward.GetRewardId()})
		testkit.WantCode(t, err, codes.Unavailable)
		var redemptionID string
		if err := e.db.QueryRow(e.as(t, ""), `SELECT redemption_id::text FROM rewards.redemptions WHERE idempotency_key = 'service/' || $1`, key).
			Scan(&redemptionID); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 60*time.Second, "the redemption settled", func() bool { return e.redemptionStatus(t, redemptionID) != "requested" })
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
		testkit.WantReason(t, err, "INSUFFICIENT_POINTS")
	})
}

func (e *rewardsEnv) redemptionStatus(t *testing.T, id string) string {
	t.Helper()
	var st string
	if err := e.db.QueryRow(e.as(t, ""), `SELECT status FROM rewards.redemptions WHERE redemption_id = $1`, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// rewardsProcess is a rewards service in a process of its own: this test binary run
// as TestRewardsProcess.
type rewardsProcess struct {
	cmd    *exec.Cmd
	addr   string
	waited chan struct{}
}

const rewardsProcessEnv = "TREUE_TEST_REWARDS_PROCESS"

// startRewardsProcess starts a rewards process in e's world, with e's code key, that
// settles nothing: it is there to be killed.
func startRewardsProcess(t *testing.T, e *rewardsEnv) *rewardsProcess {
	t.Helper()
	// The test binary itself, wherever go test built it and whatever the working
	// directory; the timeout ends the process should this binary die without killing it.
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-test.run=^TestRewardsProcess$", "-test.count=1", "-test.timeout=5m"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	base := e.Base()
	cmd := exec.Command(bin, args...)
	// Later entries win over the inherited ones.
	cmd.Env = append(os.Environ(),
		rewardsProcessEnv+"=1",
		"DATABASE_URL="+base.DatabaseURL,
		"NATS_URL="+base.NATSURL,
		"TREUE_NAMESPACE="+base.Namespace,
		"API_KEYS="+base.APIKeys,
		"STREAM_REPLICAS=1",
		"REWARDS_GRPC_ADDR=127.0.0.1:0",
		"REWARDS_HTTP_ADDR=",
		"REWARDS_ADMIN_ADDR=127.0.0.1:0",
		"REWARDS_DB_MAX_CONNS=4",
		"REWARDS_LEDGER_ADDR="+e.ledgerAddr,
		"REWARDS_LEDGER_TIMEOUT=3s",
		"SERVICE_API_KEY="+e.Key("service"),
		"REWARDS_CODE_KEY="+e.codeKey,
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
	case <-time.After(60 * time.Second):
		t.Fatalf("the rewards process did not start within 60s:\n%s", stderr.String())
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
	cfg, err := rewards.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	// New and Run get one context, as in production: what New starts lives as long as
	// the service, which is until the kill.
	ctx := context.Background()
	s, err := rewards.New(ctx, cfg, testkit.Logger(t).With("process", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("rewards-grpc", s.GRPCAddr())
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
}
