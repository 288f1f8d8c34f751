package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild()
	}
	testkit.Main(m)
}

// The bus's tests carry ledger.points.credited events, one of the contract's: the value
// of an event is its transaction id.
var (
	testSpec   = bus.MustSpec(&ledgerv1.PointsCredited{})
	testStream = testSpec.Stream
)

func testEvent(value string) *ledgerv1.PointsCredited {
	return &ledgerv1.PointsCredited{TransactionId: value, MemberId: "m1", Points: 1,
		Reason: ledgerv1.PointsReason_POINTS_REASON_PURCHASE, OccurredAt: timestamppb.Now()}
}

// env is one test's schema, stream and connections.
type env struct {
	t    *testing.T
	pool *pgxpool.Pool
	js   jetstream.JetStream
	ns   bus.Namespace
	log  *slog.Logger
}

func newEnv(t *testing.T, dup time.Duration) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	pool, err := pg.Connect(ctx, testkit.Database(t), "svc", 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pg.Migrate(ctx, pool, "svc", log, bus.Migrations()); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE applied (event_id text NOT NULL, value text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	nc, js, err := bus.Connect(testkit.NATS(t), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ns := bus.Namespace(testkit.Namespace(t))
	if err := bus.EnsureStreams(ctx, js, ns, bus.StreamOptions{Duplicates: dup}, testStream); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, pool: pool, js: js, ns: ns, log: log}
}

// publish sends value as a test event with the event id as Nats-Msg-Id.
func (e *env) publish(id, value string) *jetstream.PubAck {
	e.t.Helper()
	data, _ := proto.Marshal(testEvent(value))
	msg := &nats.Msg{Subject: e.ns.Subject(testSpec.Subject), Data: data, Header: nats.Header{}}
	msg.Header.Set(bus.HeaderContentType, bus.ContentTypeProto)
	msg.Header.Set(bus.HeaderEventType, string(testSpec.Type))
	ack, err := e.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(id))
	if err != nil {
		e.t.Fatal(err)
	}
	return ack
}

// recorder applies StringValue events by inserting them into "applied"; a value
// starting with "poison" is a permanent failure, "flaky" a transient one while
// flaky is set.
type recorder struct {
	calls atomic.Int64
	flaky atomic.Bool
}

func (r *recorder) handle(ctx context.Context, ds []bus.Delivery[*ledgerv1.PointsCredited]) error {
	r.calls.Add(1)
	tx, _ := pg.TxFrom(ctx)
	for _, d := range ds {
		v := d.Event.GetTransactionId()
		switch {
		case strings.HasPrefix(v, "poison"):
			return bus.Permanent(errors.New("poison value " + v))
		case strings.HasPrefix(v, "flaky") && r.flaky.Load():
			return errors.New("flaky dependency down")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO applied VALUES ($1, $2)`, d.ID, v); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) consumer(cfg bus.ConsumerConfig) *bus.Consumer {
	e.t.Helper()
	cfg.Name = "test"
	if len(cfg.Routes) == 0 {
		e.t.Fatal("routes needed")
	}
	c, err := bus.NewConsumer(e.pool, e.js, e.ns, e.log, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// run runs c until the test ends; the returned channel yields Run's error.
func run(t *testing.T, c *bus.Consumer) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("consumer did not stop")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOutboxRelayPublishesCommittedEventsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	outbox, err := bus.NewOutbox(&ledgerv1.PointsCredited{})
	if err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		return outbox.Enqueue(ctx, tx, testEvent("kept"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var committedID string
	if err := e.pool.QueryRow(ctx, `SELECT event_id::text FROM outbox`).Scan(&committedID); err != nil {
		t.Fatal(err)
	}
	// A rolled-back transaction's events never leave.
	_ = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if err := outbox.Enqueue(ctx, tx, testEvent("lost")); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	relay := bus.NewRelay(e.pool, e.js, e.ns, e.log)
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A relay that crashed after publishing but before deleting publishes again: the
	// copy is dropped by JetStream's de-duplication.
	if _, err := e.pool.Exec(ctx, `INSERT INTO outbox (event_id, subject, event_type, payload) VALUES ($1, $2, $3, '')`, committedID, testSpec.Subject, string(testSpec.Type)); err != nil {
		t.Fatal(err)
	}
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("outbox has %d rows after flush", n)
	}
	stream, err := e.js.Stream(ctx, e.ns.Stream(testStream.Name))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := stream.Info(ctx)
	if info.State.Msgs != 1 {
		t.Fatalf("stream has %d messages, want 1", info.State.Msgs)
	}
	got, err := stream.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != e.ns.Subject(testSpec.Subject) || got.Header.Get(bus.HeaderMsgID) != committedID ||
		got.Header.Get(bus.HeaderEventType) != string(testSpec.Type) {
		t.Fatalf("unexpected message %s %v", got.Subject, got.Header)
	}
}

func TestConsumerAppliesARepublishedEventOnce(t *testing.T) {
	t.Parallel()
	// JetStream's shortest duplicate window, so that a re-publish gets stored, as one
	// after the window would: only the inbox stands between it and a double.
	e := newEnv(t, 100*time.Millisecond)
	rec := &recorder{}
	stop := run(t, e.consumer(bus.ConsumerConfig{Routes: []bus.Route{bus.On(rec.handle)}}))
	first := e.publish("evt-1", "a")
	// Within the window JetStream drops the copy (Duplicate); once it has passed, the
	// copy is stored at a sequence of its own.
	var again *jetstream.PubAck
	eventually(t, "JetStream to store the re-published evt-1", func() bool {
		again = e.publish("evt-1", "a")
		return !again.Duplicate
	})
	if again.Sequence <= first.Sequence {
		t.Fatalf("the copy is at sequence %d, the first at %d", again.Sequence, first.Sequence)
	}
	e.publish("evt-2", "b")
	eventually(t, "evt-2 applied", func() bool { return e.count(`SELECT count(*) FROM applied WHERE event_id = 'evt-2'`) == 1 })
	// The consumer got the copy and acked it: the test proves the inbox, not a lucky drop.
	cons, err := e.js.Consumer(context.Background(), e.ns.Stream(testStream.Name), e.ns.Consumer("test"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the copy acked", func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.AckFloor.Stream >= again.Sequence
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM applied WHERE event_id = 'evt-1'`); n != 1 {
		t.Fatalf("evt-1 applied %d times", n)
	}
}

func TestRedeliveryAfterCrashBetweenCommitAndAckIsSkipped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	rec := &recorder{}
	crashed := e.consumer(bus.ConsumerConfig{
		Routes: []bus.Route{bus.On(rec.handle)}, AckWait: time.Second,
		BeforeAck: func([]*bus.Message) error { return errors.New("power cut") },
	})
	e.publish("evt-1", "a")
	stop := run(t, crashed)
	eventually(t, "first commit", func() bool { return e.count(`SELECT count(*) FROM applied`) == 1 })
	if err := stop(); err == nil {
		t.Fatal("crashing consumer returned no error")
	}
	// The restarted process gets the unacked message again after AckWait.
	restarted := e.consumer(bus.ConsumerConfig{Routes: []bus.Route{bus.On(rec.handle)}, AckWait: time.Second})
	stop = run(t, restarted)
	cons, err := e.js.Consumer(context.Background(), e.ns.Stream(testStream.Name), e.ns.Consumer("test"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "redelivery acked", func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0 && info.Delivered.Consumer >= 2
	})
	_ = stop()
	if n := e.count(`SELECT count(*) FROM applied`); n != 1 {
		t.Fatalf("applied %d times, want once", n)
	}
}

func TestPoisonMessageGoesToDeadLettersAndTheBatchGoesOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	rec := &recorder{}
	// Published before the consumer starts, so that they arrive as one batch.
	e.publish("evt-1", "good 1")
	e.publish("evt-2", "poison")
	e.publish("evt-3", "good 2")
	garbage := &nats.Msg{Subject: e.ns.Subject(testSpec.Subject), Data: []byte{0xff, 0xff, 0xff}, Header: nats.Header{}}
	garbage.Header.Set(bus.HeaderMsgID, "evt-4")
	if _, err := e.js.PublishMsg(context.Background(), garbage); err != nil {
		t.Fatal(err)
	}
	e.publish("evt-5", "good 3")
	run(t, e.consumer(bus.ConsumerConfig{Routes: []bus.Route{bus.On(rec.handle)}}))
	eventually(t, "good events applied", func() bool { return e.count(`SELECT count(*) FROM applied`) == 3 })
	eventually(t, "two dead letters", func() bool { return e.count(`SELECT count(*) FROM dead_letters`) == 2 })
	var errText string
	if err := e.pool.QueryRow(context.Background(), `SELECT error FROM dead_letters WHERE event_id = 'evt-2'`).Scan(&errText); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "poison value") {
		t.Fatalf("dead letter error = %q", errText)
	}
	if err := e.pool.QueryRow(context.Background(), `SELECT error FROM dead_letters WHERE event_id = 'evt-4'`).Scan(&errText); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "decode") {
		t.Fatalf("dead letter error = %q", errText)
	}
}

func TestTransientFailureIsRetriedWithBackoffThenDeadLetteredAndReplayable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	rec := &recorder{}
	rec.flaky.Store(true)
	c := e.consumer(bus.ConsumerConfig{Routes: []bus.Route{bus.On(rec.handle)}, MaxDeliver: 3, Backoff: []time.Duration{50 * time.Millisecond}})
	run(t, c)
	e.publish("evt-1", "flaky")
	e.publish("evt-2", "fine")
	eventually(t, "dead letter after 3 deliveries", func() bool {
		return e.count(`SELECT count(*) FROM dead_letters WHERE event_id = 'evt-1' AND deliveries = 3`) == 1
	})
	if n := e.count(`SELECT count(*) FROM applied WHERE event_id = 'evt-2'`); n != 1 {
		t.Fatalf("the healthy event was applied %d times", n)
	}

	ctx := context.Background()
	list, err := bus.ListDeadLetters(ctx, e.pool, bus.DeadLetterFilter{Consumer: "test", Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %v, %v", list, err)
	}
	if _, err := c.Replay(ctx, list[0]); !errors.Is(err, bus.ErrReplayFailed) {
		t.Fatalf("replay while the dependency is still down = %v, want ErrReplayFailed", err)
	}
	rec.flaky.Store(false)
	d, err := bus.GetDeadLetter(ctx, e.pool, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Replay(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if got.ReplayedAt == nil {
		t.Fatal("replayed dead letter has no replayed_at")
	}
	// Replaying twice applies once.
	d, _ = bus.GetDeadLetter(ctx, e.pool, list[0].ID)
	if _, err := c.Replay(ctx, d); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM applied WHERE event_id = 'evt-1'`); n != 1 {
		t.Fatalf("replayed event applied %d times", n)
	}
	list, _ = bus.ListDeadLetters(ctx, e.pool, bus.DeadLetterFilter{Limit: 10})
	if len(list) != 0 {
		t.Fatalf("replayed dead letter still listed as open: %v", list)
	}
}

func TestBatchesAreAppliedInFewTransactions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	rec := &recorder{}
	const n = 1000
	for i := range n {
		e.publish("evt-"+strconv.Itoa(i), "v")
	}
	run(t, e.consumer(bus.ConsumerConfig{Routes: []bus.Route{bus.On(rec.handle)}, BatchSize: 500}))
	eventually(t, "all applied", func() bool { return e.count(`SELECT count(*) FROM applied`) == n })
	// Batching is what makes the throughput: far fewer handler calls than messages.
	if calls := rec.calls.Load(); calls > n/10 {
		t.Fatalf("%d handler calls for %d messages: not batching", calls, n)
	}
}

func TestPruneInboxKeepsRecentRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `
		INSERT INTO inbox (consumer, event_id, processed_at)
		SELECT 'c', 'old-' || i, now() - interval '40 days' FROM generate_series(1, 25000) i
		UNION ALL SELECT 'c', 'new-' || i, now() - interval '1 day' FROM generate_series(1, 10) i`); err != nil {
		t.Fatal(err)
	}
	n, err := bus.PruneInbox(ctx, e.pool, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n != 25000 {
		t.Fatalf("pruned %d rows, want 25000", n)
	}
	if left := e.count(`SELECT count(*) FROM inbox`); left != 10 {
		t.Fatalf("%d rows left, want the 10 recent ones", left)
	}
}

func TestConsumerDeletedOnTheServerStopsRunWithAnError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	rec := &recorder{}
	c := e.consumer(bus.ConsumerConfig{Routes: []bus.Route{bus.On(rec.handle)}})
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	e.publish("evt-1", "a")
	eventually(t, "evt-1 applied", func() bool { return e.count(`SELECT count(*) FROM applied`) == 1 })
	if err := e.js.DeleteConsumer(context.Background(), e.ns.Stream(testStream.Name), e.ns.Consumer("test")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil after its consumer was deleted")
		}
	case <-time.After(45 * time.Second):
		t.Fatal("Run kept going after its consumer was deleted")
	}
}

// An Exclusive consumer run by two replicas: one takes every message while it runs, in
// stream order; when it stops, the other takes over.
func TestExclusiveConsumerHasOneActiveReplicaAndAStandby(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	if _, err := e.pool.Exec(context.Background(), `ALTER TABLE applied ADD COLUMN replica text, ADD COLUMN seq bigserial`); err != nil {
		t.Fatal(err)
	}
	replica := func(name string) bus.Route {
		return bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.PointsCredited]) error {
			tx, _ := pg.TxFrom(ctx)
			for _, d := range ds {
				if _, err := tx.Exec(ctx, `INSERT INTO applied (event_id, value, replica) VALUES ($1, $2, $3)`,
					d.ID, d.Event.GetTransactionId(), name); err != nil {
					return err
				}
			}
			return nil
		})
	}
	cfg := func(name string) bus.ConsumerConfig {
		return bus.ConsumerConfig{Exclusive: true, PinnedTTL: 2 * time.Second, BatchSize: 5, Routes: []bus.Route{replica(name)}}
	}
	// The durable exists from before, shared: it becomes exclusive in place.
	shared := cfg("old")
	shared.Exclusive = false
	stopShared := run(t, e.consumer(shared))
	eventually(t, "the shared consumer created", func() bool {
		_, err := e.js.Consumer(context.Background(), e.ns.Stream(testStream.Name), e.ns.Consumer("test"))
		return err == nil
	})
	if err := stopShared(); err != nil {
		t.Fatal(err)
	}
	stops := map[string]func() error{"a": run(t, e.consumer(cfg("a"))), "b": run(t, e.consumer(cfg("b")))}
	for i := range 40 {
		e.publish(fmt.Sprintf("first-%02d", i), fmt.Sprintf("%02d", i))
		if i%10 == 9 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	eventually(t, "the first events applied", func() bool { return e.count(`SELECT count(*) FROM applied`) == 40 })
	var active []string
	if err := e.pool.QueryRow(context.Background(), `SELECT array_agg(DISTINCT replica) FROM applied`).Scan(&active); err != nil {
		t.Fatal(err)
	}
	if len(active) != 1 {
		t.Fatalf("replicas %v took the messages, want one", active)
	}
	// In stream order: the order of the inserts is the order of publishing.
	if n := e.count(`SELECT count(*) FROM (SELECT value, lag(value) OVER (ORDER BY seq) AS prev FROM applied) o
		WHERE o.prev IS NOT NULL AND o.prev > o.value`); n != 0 {
		t.Fatalf("%d events applied before one published ahead of them", n)
	}
	standby := map[string]string{"a": "b", "b": "a"}[active[0]]
	if err := stops[active[0]](); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		e.publish(fmt.Sprintf("then-%02d", i), fmt.Sprintf("then-%02d", i))
	}
	eventually(t, "the standby took over", func() bool {
		return e.count(`SELECT count(*) FROM applied WHERE event_id LIKE 'then-%' AND replica = $1`, standby) == 10
	})
}
