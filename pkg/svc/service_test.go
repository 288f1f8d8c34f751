package svc_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
)

func base(t *testing.T) svc.Base {
	return svc.Base{
		DatabaseURL: testkit.Database(t), NATSURL: testkit.NATS(t), Namespace: testkit.Namespace(t),
		GRPCAddr: "127.0.0.1:0", DBMaxConns: 2,
	}
}

// A service whose wiring fails leaves nothing open: not its listener, not its pool.
func TestWireReleasesWhatOpenTookWhenWiringFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	refused := errors.New("no routing rules")
	var rt *svc.Runtime
	_, err := svc.Wire(ctx, base(t), svc.Options{Name: "wired", Schema: "wired"}, slog.New(slog.DiscardHandler),
		func(r *svc.Runtime) error {
			rt = r
			return refused
		})
	if !errors.Is(err, refused) {
		t.Fatalf("Wire = %v, want the wiring's error", err)
	}
	lis, err := net.Listen("tcp", rt.GRPCAddr())
	if err != nil {
		t.Fatalf("the gRPC address is still taken: %v", err)
	}
	_ = lis.Close()
	if err := rt.Pool.Ping(ctx); err == nil {
		t.Fatal("the pool is still open")
	}
}

// A wired service runs until its context ends and says where it listens.
func TestWiredServiceRuns(t *testing.T) {
	t.Parallel()
	s, err := svc.Wire(context.Background(), base(t), svc.Options{Name: "wired", Schema: "wired"}, slog.New(slog.DiscardHandler),
		func(*svc.Runtime) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if s.HTTPAddr() != "" {
		t.Errorf("HTTPAddr %q without an HTTP server", s.HTTPAddr())
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := healthpb.NewHealthClient(conn).Check(testkit.Ctx(t), &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Errorf("health check at %s: %v", s.GRPCAddr(), err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// backlog is work for a sweep: items to handle, and each pass's batch and result.
type backlog struct {
	mu      sync.Mutex
	left    int
	fail    int // passes to fail first
	batches []int
	handled []int
	drained chan struct{}
}

func (b *backlog) pass(_ context.Context, batch int) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batches = append(b.batches, batch)
	if b.fail > 0 {
		b.fail--
		return 0, errors.New("database unavailable")
	}
	n := min(b.left, batch)
	b.left -= n
	b.handled = append(b.handled, n)
	if b.left == 0 && n > 0 {
		close(b.drained)
	}
	return n, nil
}

// A sweep takes a backlog larger than its batch in one go, not one batch per interval,
// and logs a failed pass to retry it at the next tick.
func TestSweep(t *testing.T) {
	t.Parallel()
	const interval = 500 * time.Millisecond
	b := &backlog{left: 450, fail: 1, drained: make(chan struct{})}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	start := time.Now()
	go func() {
		svc.Sweep{What: "hold expiry", Interval: interval, Batch: 200, Pass: b.pass}.Run(ctx, log)
		close(done)
	}()
	select {
	case <-b.drained:
	case <-time.After(10 * time.Second):
		t.Fatal("the backlog was not drained")
	}
	// The failure waits for the second tick; the three batches then follow at once,
	// well before a third tick.
	if took := time.Since(start); took < 2*interval || took >= 3*interval {
		t.Errorf("drained after %s, want between 2 and 3 intervals of %s", took, interval)
	}
	stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the sweep did not stop with its context")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.handled) != 3 || b.handled[0] != 200 || b.handled[1] != 200 || b.handled[2] != 50 {
		t.Errorf("passes handled %v, want [200 200 50]", b.handled)
	}
	for _, n := range b.batches {
		if n != 200 {
			t.Errorf("a pass was given a batch of %d, want 200", n)
		}
	}
	if !strings.Contains(logged.String(), "hold expiry failed; will retry") || !strings.Contains(logged.String(), "database unavailable") {
		t.Errorf("log %q, want the failed pass", logged.String())
	}
}
