package svc_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// A background worker's last commit, made while the service shuts down, is published
// before the runtime closes NATS and the pool.
func TestBackgroundWorkerCommitsAtShutdownArePublished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spec := bus.MustSpec(&ledgerv1.HoldVoided{})
	ns := testkit.Namespace(t)
	rt, err := svc.Open(ctx, svc.Base{
		DatabaseURL: testkit.Database(t), NATSURL: testkit.NATS(t), Namespace: ns,
		GRPCAddr: "127.0.0.1:0", DBMaxConns: 2,
	}, svc.Options{Name: "jobs", Schema: "jobs", Produces: []proto.Message{&ledgerv1.HoldVoided{}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	event := &ledgerv1.HoldVoided{HoldId: "last words", MemberId: "m1", Points: 1, VoidedAt: timestamppb.Now()}
	rt.Background(func(ctx context.Context) {
		<-ctx.Done()
		time.Sleep(200 * time.Millisecond) // finishing a slow piece of work
		ctx = context.WithoutCancel(ctx)
		err := rt.DB.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			return rt.Outbox.Enqueue(ctx, tx, event)
		})
		if err != nil {
			t.Errorf("worker's commit at shutdown: %v", err)
		}
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.Run(runCtx) }()
	time.Sleep(100 * time.Millisecond)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// The runtime has closed its connections; read the stream with one of our own.
	nc, js2, err := bus.Connect(testkit.NATS(t), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s, err := js2.Stream(ctx, bus.Namespace(ns).Stream(spec.Stream.Name))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(ctx, bus.Namespace(ns).Subject(spec.Subject))
	if err != nil {
		t.Fatalf("the worker's event was not published before shutdown: %v", err)
	}
	var got ledgerv1.HoldVoided
	if err := proto.Unmarshal(msg.Data, &got); err != nil || got.GetHoldId() != event.GetHoldId() {
		t.Fatalf("published %v (%v), want %v", &got, err, event)
	}
}
