package testkit_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
)

// echo is the smallest service of the usual shape: it consumes points credited and
// publishes, for each, a hold placed with the credit's transaction id through its
// outbox, taking its time.
type echo struct{ svc.Service }

var (
	in  = bus.MustSpec(&ledgerv1.PointsCredited{}).Subject
	out = bus.MustSpec(&ledgerv1.HoldPlaced{}).Subject
)

func credit(id string) *ledgerv1.PointsCredited {
	return &ledgerv1.PointsCredited{TransactionId: id, MemberId: "m1", Points: 1, OccurredAt: timestamppb.Now()}
}

func newEcho(ctx context.Context, base svc.Base, log *slog.Logger) (*echo, error) {
	s, err := svc.Wire(ctx, base, svc.Options{Name: "echo", Schema: "echo", Produces: []proto.Message{&ledgerv1.HoldPlaced{}}}, log,
		func(rt *svc.Runtime) error {
			return rt.Consume(bus.ConsumerConfig{
				Name: "echo",
				Routes: []bus.Route{bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.PointsCredited]) error {
					time.Sleep(200 * time.Millisecond) // slow enough that a test must wait for it
					return rt.DB.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
						for _, d := range ds {
							echoed := &ledgerv1.HoldPlaced{HoldId: d.Event.GetTransactionId(), MemberId: "m1", Points: 1}
							if err := rt.Outbox.Enqueue(ctx, tx, echoed); err != nil {
								return err
							}
						}
						return nil
					})
				})},
			})
		})
	if err != nil {
		return nil, err
	}
	return &echo{s}, nil
}

func TestServiceKit(t *testing.T) {
	t.Parallel()
	e := testkit.NewEnv(t)
	s := testkit.Start(t, newEcho, e.Base())
	addr := s.Service.GRPCAddr()

	sent := []testkit.Sent{
		e.Publish(in, "", credit("protobuf")),
		e.PublishJSON(in, "", credit("protojson")),
	}
	poison := e.PublishRaw(testkit.Raw{Subject: in, ContentType: bus.ContentTypeProto, Data: []byte{0xff}})
	if again := e.Publish(in, sent[0].ID, credit("protobuf")); !again.Duplicate || again.Sequence != sent[0].Sequence {
		t.Errorf("the same id again = %+v, want JetStream to drop it as a duplicate of %d", again.PubAck, sent[0].Sequence)
	}

	// Handled means committed: the inbox has the events the moment the wait returns.
	e.WaitHandled("echo", append(sent, poison)...)
	if n := e.DB("echo").Count(`SELECT count(*) FROM inbox`); n != 2 {
		t.Errorf("%d events in the inbox after the wait, want 2", n)
	}
	letters := e.WaitDeadLetters(addr, "echo", 1)
	if letters[0].GetEventId() != poison.ID || !strings.Contains(letters[0].GetError(), "decode") {
		t.Errorf("dead letter %v, want the poison's with a decode error", letters[0])
	}

	if v := testkit.WaitEvent(e, out, func(v *ledgerv1.HoldPlaced) bool { return v.GetHoldId() == "protojson" }); v.GetHoldId() != "protojson" {
		t.Errorf("WaitEvent returned %v", v)
	}
	var echoed []string
	testkit.Eventually(t, 10*time.Second, "both echoed", func() bool {
		echoed = echoed[:0]
		for _, v := range testkit.Events[*ledgerv1.HoldPlaced](e, out) {
			echoed = append(echoed, v.GetHoldId())
		}
		return len(echoed) == 2
	})
	if slices.Sort(echoed); !slices.Equal(echoed, []string{"protobuf", "protojson"}) {
		t.Errorf("echoed %v", echoed)
	}

	// Every caller has its role's key; a role the admin API does not allow is refused.
	list := func(role string) error {
		_, err := adminv1.NewAdminServiceClient(e.Conn(addr, role)).ListDeadLetters(testkit.Ctx(t), &adminv1.ListDeadLettersRequest{})
		return err
	}
	testkit.WantCode(t, list(""), codes.Unauthenticated)
	testkit.WantCode(t, list("pos"), codes.PermissionDenied)
	testkit.WantCode(t, list("auditor"), codes.OK)

	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done is open after Stop")
	}
}

// A subtest fails through its own view of the world.
func TestEnvFor(t *testing.T) {
	t.Parallel()
	e := testkit.NewEnv(t)
	t.Run("sub", func(t *testing.T) {
		sub := e.For(t)
		if sub.NS() != e.NS() || sub.DatabaseURL() != e.DatabaseURL() {
			t.Fatal("the view is of another world")
		}
		if got := sub.Key("admin"); got != "test-key-admin" {
			t.Errorf("admin key %q", got)
		}
	})
}
