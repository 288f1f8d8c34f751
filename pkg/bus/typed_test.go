package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
)

// typedEnv is an env whose streams are the contract's.
func typedEnv(t *testing.T) *env {
	e := newEnv(t, 0)
	specs := []bus.StreamSpec{bus.MustSpec(&ledgerv1.PointsCredited{}).Stream, bus.MustSpec(&posv1.PurchaseRecorded{}).Stream}
	if err := bus.EnsureStreams(context.Background(), e.js, e.ns, bus.StreamOptions{}, specs...); err != nil {
		t.Fatal(err)
	}
	return e
}

// credits applies PointsCredited events by recording their transaction ids.
func credits(ctx context.Context, ds []bus.Delivery[*ledgerv1.PointsCredited]) error {
	tx, _ := pg.TxFrom(ctx)
	for _, d := range ds {
		if _, err := tx.Exec(ctx, `INSERT INTO applied VALUES ($1, $2)`, d.ID, d.Event.GetTransactionId()); err != nil {
			return err
		}
	}
	return nil
}

func credit(id string) *ledgerv1.PointsCredited {
	return &ledgerv1.PointsCredited{TransactionId: id, MemberId: "m1", Points: 10,
		Reason: ledgerv1.PointsReason_POINTS_REASON_PURCHASE, OccurredAt: timestamppb.Now()}
}

// publishRaw sends data on subject with the contract's headers; an empty eventType
// leaves Treue-Event-Type out.
func (e *env) publishRaw(subject, eventType, contentType string, data []byte) {
	e.t.Helper()
	msg := &nats.Msg{Subject: e.ns.Subject(subject), Data: data, Header: nats.Header{}}
	msg.Header.Set(bus.HeaderContentType, contentType)
	if eventType != "" {
		msg.Header.Set(bus.HeaderEventType, eventType)
	}
	if _, err := e.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(uuid.NewString())); err != nil {
		e.t.Fatal(err)
	}
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// Every event that breaks the contract is dead-lettered on its first delivery, in the
// transaction of its batch, while the good events around it are applied: nothing is
// retried that cannot succeed, and nothing of the wrong type reaches a handler.
func TestTypedRouteRefusesWhatBreaksTheContractAtOnce(t *testing.T) {
	t.Parallel()
	e := typedEnv(t)
	const credited = "ledger.points.credited"
	debit := &ledgerv1.PointsDebited{TransactionId: "d1", MemberId: "m1", Points: 5, OccurredAt: timestamppb.Now()}
	bad := []struct {
		name, subject, eventType, contentType string
		data                                  []byte
		reason                                string
	}{
		{"another type under the subject", credited, "treue.ledger.v1.PointsDebited", bus.ContentTypeProto, mustMarshal(debit), "not consumed here"},
		{"a foreign type", credited, "treue.rewards.v1.CouponIssued", bus.ContentTypeProto, mustMarshal(debit), "not consumed here"},
		{"garbage", credited, "treue.ledger.v1.PointsCredited", bus.ContentTypeProto, []byte{0xff, 0xff, 0xff}, "decode"},
		{"breaks a rule", credited, "treue.ledger.v1.PointsCredited", bus.ContentTypeProto, mustMarshal(&ledgerv1.PointsCredited{TransactionId: "x", MemberId: "m1", Points: -5, OccurredAt: timestamppb.Now()}), "points"},
		{"a NUL byte", credited, "treue.ledger.v1.PointsCredited", bus.ContentTypeProto, mustMarshal(credit("t\x00")), "NUL"},
		{"unsupported content type", credited, "treue.ledger.v1.PointsCredited", "text/plain", []byte("hi"), "Content-Type"},
	}
	for _, b := range bad {
		e.publishRaw(b.subject, b.eventType, b.contentType, b.data)
	}
	// Good events around them: protobuf, protojson, and one without the type header.
	e.publishRaw(credited, "treue.ledger.v1.PointsCredited", bus.ContentTypeProto, mustMarshal(credit("good-1")))
	js, _ := protojson.Marshal(credit("good-2"))
	e.publishRaw(credited, "treue.ledger.v1.PointsCredited", bus.ContentTypeJSON, js)
	e.publishRaw(credited, "", bus.ContentTypeProto, mustMarshal(credit("good-3")))

	c, err := bus.NewConsumer(e.pool, e.js, e.ns, e.log, bus.ConsumerConfig{
		Name: "typed", Routes: []bus.Route{bus.On(credits)}, BatchSize: 50,
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	eventually(t, "good events applied and bad ones dead-lettered", func() bool {
		return e.count(`SELECT count(*) FROM applied`) == 3 && e.count(`SELECT count(*) FROM dead_letters`) == len(bad)
	})
	if n := e.count(`SELECT count(*) FROM dead_letters WHERE deliveries <> 1`); n != 0 {
		t.Fatalf("%d poison events were retried before dead-lettering", n)
	}
	rows, _ := e.pool.Query(context.Background(), `SELECT error FROM dead_letters ORDER BY stream_seq`)
	errs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bad {
		if !strings.Contains(errs[i], b.reason) {
			t.Errorf("%s: dead letter error %q does not say %q", b.name, errs[i], b.reason)
		}
	}
}

// A POS event's subject names its store; a body that names another store is refused.
func TestKeyedSubjectMustMatchItsField(t *testing.T) {
	t.Parallel()
	e := typedEnv(t)
	var got []string
	handle := func(ctx context.Context, ds []bus.Delivery[*posv1.PurchaseRecorded]) error {
		for _, d := range ds {
			got = append(got, d.Event.GetTransactionId())
		}
		return nil
	}
	p := func(store, tx string) []byte {
		return mustMarshal(&posv1.PurchaseRecorded{EventId: uuid.NewString(), StoreId: store, TransactionId: tx,
			OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 100})
	}
	e.publishRaw("pos.purchase.recorded.S1", "treue.pos.v1.PurchaseRecorded", bus.ContentTypeProto, p("S2", "mismatch"))
	e.publishRaw("pos.purchase.recorded.S1", "treue.pos.v1.PurchaseRecorded", bus.ContentTypeProto, p("S1", "match"))
	c, err := bus.NewConsumer(e.pool, e.js, e.ns, e.log, bus.ConsumerConfig{Name: "pos", Routes: []bus.Route{bus.On(handle)}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	eventually(t, "the mismatch dead-lettered", func() bool {
		return e.count(`SELECT count(*) FROM dead_letters WHERE error LIKE '%differs from store_id%'`) == 1
	})
	eventually(t, "the match applied", func() bool { return e.count(`SELECT count(*) FROM inbox`) == 1 })
	if len(got) != 1 || got[0] != "match" {
		t.Fatalf("handled %v, want [match]", got)
	}
}

// The outbox takes only the events the service declares and writes each on its
// contract's subject.
func TestOutboxTakesDeclaredEventsOnTheirSubjects(t *testing.T) {
	t.Parallel()
	e := typedEnv(t)
	o, err := bus.NewOutbox(&ledgerv1.PointsCredited{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		return o.Enqueue(ctx, tx, &ledgerv1.PointsDebited{TransactionId: "d"})
	})
	if err == nil || !strings.Contains(err.Error(), "not an event this service declares") {
		t.Fatalf("undeclared event: %v", err)
	}
	if err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error { return o.Enqueue(ctx, tx, credit("c1")) }); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE subject = 'ledger.points.credited' AND event_type = 'treue.ledger.v1.PointsCredited'`); n != 1 {
		t.Fatalf("outbox rows on the contract's subject: %d", n)
	}
	if _, err := bus.NewOutbox(&posv1.Line{}); err == nil {
		t.Fatal("a message that is no event was accepted")
	}
}

// childEnv names the variables a consumer child process reads.
const childEnv = "BUS_TEST_CONSUMER_CHILD"

// runChild is the body of a consumer process started by TestKilledConsumerIsReplacedQuickly:
// it consumes credits slowly, one short batch after another, until it is killed.
func runChild() {
	ctx := context.Background()
	pool, err := pg.Connect(ctx, os.Getenv("CHILD_DATABASE_URL"), "svc", 4)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_, js, err := bus.Connect(os.Getenv("CHILD_NATS_URL"), "child")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	slow := func(ctx context.Context, ds []bus.Delivery[*ledgerv1.PointsCredited]) error {
		time.Sleep(100 * time.Millisecond)
		return credits(ctx, ds)
	}
	c, err := bus.NewConsumer(pool, js, bus.Namespace(os.Getenv("CHILD_NAMESPACE")), slog.New(slog.DiscardHandler),
		bus.ConsumerConfig{Name: "killed", Routes: []bus.Route{bus.On(slow)}, BatchSize: 20})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, c.Run(ctx))
	os.Exit(1)
}

// A consumer process killed with SIGKILL mid-batch holds up to max-ack-pending messages
// it never acks. Its replacement must resume within the consumer's short ack wait, not
// after a minute, and every event is applied exactly once.
func TestKilledConsumerIsReplacedQuickly(t *testing.T) {
	t.Parallel()
	e := typedEnv(t)
	const total = 600
	for i := range total {
		e.publishRaw("ledger.points.credited", "treue.ledger.v1.PointsCredited", bus.ContentTypeProto, mustMarshal(credit("t"+strconv.Itoa(i))))
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=1",
			"CHILD_DATABASE_URL="+e.pool.Config().ConnString(), "CHILD_NATS_URL="+testkit.NATS(t), "CHILD_NAMESPACE="+string(e.ns))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	first := start()
	eventually(t, "the first process applying", func() bool { return e.count(`SELECT count(*) FROM applied`) >= 100 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	killedAt, before := time.Now(), e.count(`SELECT count(*) FROM applied`)

	start()
	deadline := time.Now().Add(30 * time.Second)
	var gap time.Duration
	for {
		if n := e.count(`SELECT count(*) FROM applied`); n > before && gap == 0 {
			gap = time.Since(killedAt)
		}
		if e.count(`SELECT count(DISTINCT value) FROM applied`) == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replacement stalled: %d of %d applied 30 s after the kill (the old ack wait was 60 s)", e.count(`SELECT count(*) FROM applied`), total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("replacement resumed %v after the kill", gap.Round(10*time.Millisecond))
	if n := e.count(`SELECT count(*) FROM applied`); n != total {
		t.Fatalf("applied %d rows for %d events", n, total)
	}
}

// A handler that refuses one event of a batch dead-letters it in the batch's
// transaction, at its first delivery, while the rest of the batch commits; the refused
// event can be replayed once the handler takes it.
func TestRefusedEventIsDeadLetteredWithItsBatch(t *testing.T) {
	t.Parallel()
	e := typedEnv(t)
	var calls atomic.Int64
	var strict atomic.Bool
	strict.Store(true)
	handle := func(ctx context.Context, ds []bus.Delivery[*ledgerv1.PointsCredited]) error {
		calls.Add(1)
		var keep []bus.Delivery[*ledgerv1.PointsCredited]
		for _, d := range ds {
			if strict.Load() && strings.HasPrefix(d.Event.GetTransactionId(), "refuse") {
				d.Refuse(errors.New("not in this programme"))
				continue
			}
			keep = append(keep, d)
		}
		return credits(ctx, keep)
	}
	for i := range 20 {
		id := "ok-" + strconv.Itoa(i)
		if i == 7 {
			id = "refuse-7"
		}
		e.publishRaw("ledger.points.credited", "treue.ledger.v1.PointsCredited", bus.ContentTypeProto, mustMarshal(credit(id)))
	}
	c, err := bus.NewConsumer(e.pool, e.js, e.ns, e.log, bus.ConsumerConfig{Name: "refusing", Routes: []bus.Route{bus.On(handle)}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	eventually(t, "19 applied and 1 dead letter", func() bool {
		return e.count(`SELECT count(*) FROM applied`) == 19 && e.count(`SELECT count(*) FROM dead_letters`) == 1
	})
	if n := e.count(`SELECT count(*) FROM dead_letters WHERE deliveries = 1 AND error = 'not in this programme'`); n != 1 {
		t.Fatal("the refusal was not dead-lettered at its first delivery with its reason")
	}
	if n := calls.Load(); n > 2 {
		t.Fatalf("%d handler calls for one batch: the refusal made the batch retry", n)
	}
	ctx := context.Background()
	list, err := bus.ListDeadLetters(ctx, e.pool, bus.DeadLetterFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Replay(ctx, list[0]); !errors.Is(err, bus.ErrReplayFailed) {
		t.Fatalf("replay refused again = %v, want ErrReplayFailed", err)
	}
	strict.Store(false)
	if _, err := c.Replay(ctx, list[0]); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM applied WHERE value = 'refuse-7'`); n != 1 {
		t.Fatalf("the replayed event applied %d times", n)
	}
}

// An Unordered consumer hands each route all of a batch's events of its type in one
// call, in stream order, however the types interleave; an ordered one calls a route
// once per run of consecutive events of its type.
func TestUnorderedConsumerCallsEachRouteOncePerBatch(t *testing.T) {
	t.Parallel()
	for _, unordered := range []bool{true, false} {
		t.Run(fmt.Sprintf("unordered=%v", unordered), func(t *testing.T) {
			t.Parallel()
			e := typedEnv(t)
			ctx := context.Background()
			if _, err := e.pool.Exec(ctx, `CREATE TABLE calls (n bigserial, txid bigint, route text, ids text[])`); err != nil {
				t.Fatal(err)
			}
			record := func(ctx context.Context, route string, ids []string) error {
				tx, _ := pg.TxFrom(ctx)
				_, err := tx.Exec(ctx, `INSERT INTO calls (txid, route, ids) VALUES (txid_current(), $1, $2)`, route, ids)
				return err
			}
			onCredits := bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.PointsCredited]) error {
				var ids []string
				for _, d := range ds {
					ids = append(ids, d.Event.GetTransactionId())
				}
				return record(ctx, "credit", ids)
			})
			onDebits := bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.PointsDebited]) error {
				var ids []string
				for _, d := range ds {
					ids = append(ids, d.Event.GetTransactionId())
				}
				return record(ctx, "debit", ids)
			})
			const n = 20
			for i := range n {
				e.publishRaw("ledger.points.credited", "treue.ledger.v1.PointsCredited", bus.ContentTypeProto, mustMarshal(credit(fmt.Sprint("c", i))))
				debit := &ledgerv1.PointsDebited{TransactionId: fmt.Sprint("d", i), MemberId: "m1", Points: 5, OccurredAt: timestamppb.Now()}
				e.publishRaw("ledger.points.debited", "treue.ledger.v1.PointsDebited", bus.ContentTypeProto, mustMarshal(debit))
			}
			c, err := bus.NewConsumer(e.pool, e.js, e.ns, e.log, bus.ConsumerConfig{
				Name: "typed", Routes: []bus.Route{onCredits, onDebits}, BatchSize: 2 * n, Unordered: unordered,
			})
			if err != nil {
				t.Fatal(err)
			}
			run(t, c)
			eventually(t, "every event applied", func() bool {
				return e.count(`SELECT coalesce(sum(cardinality(ids)), 0) FROM calls`) == 2*n
			})
			// Within a route, stream order.
			for _, route := range []string{"credit", "debit"} {
				var got []string
				if err := e.pool.QueryRow(ctx, `SELECT array_agg(id ORDER BY n, o) FROM calls, unnest(ids) WITH ORDINALITY AS u(id, o) WHERE route = $1`, route).Scan(&got); err != nil {
					t.Fatal(err)
				}
				for i, id := range got {
					if want := fmt.Sprint(route[:1], i); id != want {
						t.Fatalf("%s route saw %v, want stream order", route, got)
					}
				}
			}
			mixed := e.count(`SELECT count(*) FROM (SELECT txid FROM calls GROUP BY txid HAVING count(DISTINCT route) = 2) AS b`)
			repeated := e.count(`SELECT count(*) FROM (SELECT 1 FROM calls GROUP BY txid, route HAVING count(*) > 1) AS r`)
			if mixed == 0 {
				t.Skip("no batch held both types; nothing to compare")
			}
			if unordered && repeated != 0 {
				t.Errorf("a route was called %d times more than once in one batch", repeated)
			}
			if !unordered && repeated == 0 {
				t.Errorf("an ordered consumer called each route once per batch of interleaved types")
			}
		})
	}
}
