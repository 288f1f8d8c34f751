package service_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/services/ledger/service"
)

// lotsChild names the variables of a ledger process TestExpiryThroughAKill starts.
const lotsChild = "LEDGER_LOTS_CHILD"

// TestLotsChildProcess is the body of a ledger process that TestExpiryThroughAKill
// starts and kills; run on its own it skips.
func TestLotsChildProcess(t *testing.T) {
	if os.Getenv(lotsChild) == "" {
		t.Skip("the body of a ledger process TestExpiryThroughAKill starts")
	}
	offset, err := time.ParseDuration(os.Getenv(lotsChild + "_CLOCK"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := service.Config{
		Base: svc.Base{DatabaseURL: os.Getenv(lotsChild + "_DB"), NATSURL: os.Getenv(lotsChild + "_NATS"),
			Namespace: os.Getenv(lotsChild + "_NS"), APIKeys: os.Getenv(lotsChild + "_KEYS"),
			GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", StreamReplicas: 1, DBMaxConns: 8},
		Now:  func() time.Time { return time.Now().Add(offset) },
		Lots: service.LotsConfig{Interval: 50 * time.Millisecond, Batch: 5000},
	}
	ctx := context.Background()
	s, err := service.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Fatal(s.Run(ctx)) // until killed
}

// TestExpiryThroughAKill: a ledger process expiring lots is killed with SIGKILL in the
// middle of the run; another finishes it. Every lot expires exactly once.
func TestExpiryThroughAKill(t *testing.T) {
	const n = 30_000
	clock := &testClock{}
	opts := func(c *service.Config) {
		withLots(clock, 0, "never")(c)
		c.Lots.Batch = 5000
	}
	e := started(t, opts)
	seedLots(t, e, n, 10, clock.Now().Add(time.Hour))
	if err := e.cur.Stop(); err != nil { // only the child expires
		t.Fatal(err)
	}
	base := e.Base()
	child := exec.Command(os.Args[0], "-test.run=^TestLotsChildProcess$")
	child.Env = append(os.Environ(), lotsChild+"=1", lotsChild+"_CLOCK=2h", lotsChild+"_DB="+base.DatabaseURL,
		lotsChild+"_NATS="+base.NATSURL, lotsChild+"_NS="+base.Namespace, lotsChild+"_KEYS="+base.APIKeys)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	expired := func() int64 {
		return e.db.Count(`SELECT count(*) FROM transactions WHERE idempotency_key LIKE 'expire:%'`)
	}
	testkit.Eventually(t, 60*time.Second, "the child to expire a batch", func() bool { return expired() > 0 })
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	killedAt := expired()
	t.Logf("killed after %d of %d lots", killedAt, n)
	if killedAt%5000 != 0 && killedAt != n {
		t.Errorf("%d lots expired at the kill: a batch was committed in part", killedAt)
	}
	checkInvariants(t, e)

	clock.Advance(2 * time.Hour)
	e.start(opts)
	testkit.Eventually(t, 90*time.Second, "every lot to expire", func() bool { return expired() == n })
	if got := e.db.Count(`SELECT COALESCE(sum(amount), 0) FROM postings WHERE destination = 'program:expired'`); got != 7*n {
		t.Errorf("%d points expired, want %d", got, 7*n)
	}
	if got := e.db.Count(`SELECT count(*) FROM lots WHERE reference = 'seed' AND (remaining <> 0 OR expired <> 7)`); got != 0 {
		t.Errorf("%d lots not expired exactly once", got)
	}
	checkInvariants(t, e)
}
