package service_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/services/ledger/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// API keys of the test callers, one per role.
var roleKeys = map[string]string{
	"admin":         "test-key-admin-0001",
	"marketing":     "test-key-marketing-0001",
	"service_agent": "test-key-agent-0001",
	"pos":           "test-key-pos-0001",
	"auditor":       "test-key-auditor-0001",
	"service":       "test-key-service-0001",
}

func apiKeys() string {
	var entries []string
	for role, key := range roleKeys {
		entries = append(entries, role+"-caller:"+role+":"+grpcx.HashKey(key))
	}
	return strings.Join(entries, ",")
}

// env is one test's world: a fresh database, a NATS namespace, and the ledger instances
// started on them.
type env struct {
	t       testing.TB
	dsn     string
	ns      string
	natsURL string
	db      *pgxpool.Pool // the ledger schema, for checks
	js      jetstream.JetStream
	cur     *instance
}

type instance struct {
	svc    *service.Service
	cancel context.CancelFunc
	done   chan error
	conns  map[string]*grpc.ClientConn
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, dsn: testkit.Database(t), natsURL: testkit.NATS(t), ns: testkit.Namespace(t)}
	nc, err := nats.Connect(e.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if e.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return e
}

func quietLogger() *slog.Logger {
	level := slog.LevelError + 4
	if testing.Verbose() {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func (e *env) config() service.Config {
	return service.Config{
		Base: svc.Base{
			DatabaseURL: e.dsn, NATSURL: e.natsURL, Namespace: e.ns,
			GRPCAddr: "127.0.0.1:0", APIKeys: apiKeys(), StreamReplicas: 1, DBMaxConns: 4,
		},
		SurveyBonusPoints:  50,
		HoldExpiryInterval: 100 * time.Millisecond,
		ConsumerHooks:      service.ConsumerHooks{Backoff: []time.Duration{100 * time.Millisecond}},
	}
}

// start runs a ledger instance until the test ends (or stop is called).
func (e *env) start(mutate ...func(*service.Config)) *instance {
	e.t.Helper()
	cfg := e.config()
	for _, m := range mutate {
		m(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := service.New(ctx, cfg, quietLogger())
	if err != nil {
		cancel()
		e.t.Fatalf("service.New: %v", err)
	}
	in := &instance{svc: s, cancel: cancel, done: make(chan error, 1), conns: map[string]*grpc.ClientConn{}}
	go func() { in.done <- s.Run(ctx) }()
	e.t.Cleanup(func() { in.stop() })
	if e.db == nil {
		db, err := pg.Connect(context.Background(), e.dsn, service.Schema, 4)
		if err != nil {
			e.t.Fatal(err)
		}
		e.db = db
		e.t.Cleanup(db.Close)
	}
	e.cur = in
	return in
}

// stop shuts the instance down and returns what Run returned.
func (in *instance) stop() error {
	in.cancel()
	for _, c := range in.conns {
		c.Close()
	}
	in.conns = map[string]*grpc.ClientConn{}
	select {
	case err, ok := <-in.done:
		if ok {
			close(in.done)
		}
		return err
	case <-time.After(30 * time.Second):
		return errors.New("ledger did not stop within 30s")
	}
}

// conn dials the current instance as a caller with role ("" for no key).
func (e *env) conn(role string) *grpc.ClientConn {
	e.t.Helper()
	if c, ok := e.cur.conns[role]; ok {
		return c
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if role != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(grpcx.APIKeyCredentials(roleKeys[role])))
	}
	c, err := grpc.NewClient(e.cur.svc.GRPCAddr(), opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.cur.conns[role] = c
	return c
}

func (e *env) ledger(role string) ledgerv1.LedgerServiceClient {
	return ledgerv1.NewLedgerServiceClient(e.conn(role))
}

func (e *env) admin() adminv1.AdminServiceClient {
	return adminv1.NewAdminServiceClient(e.conn("admin"))
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// enroll creates a member and returns its id.
func (e *env) enroll(name string) string {
	e.t.Helper()
	resp, err := e.ledger("admin").Enroll(ctxT(e.t), &ledgerv1.EnrollRequest{
		IdempotencyKey: "enroll-" + uuid.NewString(), DisplayName: name, Email: strings.ToLower(name) + "@example.com",
	})
	if err != nil {
		e.t.Fatalf("enroll %s: %v", name, err)
	}
	return resp.GetMember().GetMemberId()
}

func (e *env) balance(memberID string) *ledgerv1.GetBalanceResponse {
	e.t.Helper()
	b, err := e.ledger("admin").GetBalance(ctxT(e.t), &ledgerv1.GetBalanceRequest{MemberId: memberID})
	if err != nil {
		e.t.Fatalf("balance: %v", err)
	}
	return b
}

// publish sends msg on subject (inside the namespace) with the contract's headers.
func (e *env) publish(subject, eventID string, msg proto.Message) {
	e.t.Helper()
	data, err := proto.Marshal(msg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.publishRaw(subject, eventID, string(msg.ProtoReflect().Descriptor().FullName()), data)
}

func (e *env) publishRaw(subject, eventID, eventType string, data []byte) {
	e.t.Helper()
	m := &nats.Msg{Subject: e.ns + subject, Data: data, Header: nats.Header{}}
	m.Header.Set(bus.HeaderMsgID, eventID)
	m.Header.Set(bus.HeaderContentType, bus.ContentTypeProto)
	m.Header.Set(bus.HeaderEventType, eventType)
	if _, err := e.js.PublishMsg(ctxT(e.t), m); err != nil {
		e.t.Fatalf("publish %s: %v", subject, err)
	}
}

func purchase(store, txID, memberID string, totalMinor int64) *posv1.PurchaseRecorded {
	return &posv1.PurchaseRecorded{
		EventId: uuid.NewString(), StoreId: store, TransactionId: txID, MemberId: memberID,
		OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: totalMinor,
		Lines: []*posv1.Line{{Sku: "SKU-1", Quantity: 1, AmountMinor: totalMinor}},
	}
}

func posReturn(store, returnID, originalTxID, memberID string, totalMinor int64) *posv1.ReturnRecorded {
	return &posv1.ReturnRecorded{
		EventId: uuid.NewString(), StoreId: store, ReturnId: returnID, OriginalTransactionId: originalTxID,
		MemberId: memberID, OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: totalMinor,
	}
}

func (e *env) publishPurchase(p *posv1.PurchaseRecorded) {
	e.t.Helper()
	e.publish("pos.purchase.recorded."+p.GetStoreId(), p.GetEventId(), p)
}

func (e *env) publishReturn(r *posv1.ReturnRecorded) {
	e.t.Helper()
	e.publish("pos.return.recorded."+r.GetStoreId(), r.GetEventId(), r)
}

// eventually polls cond until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// count runs a SELECT count(*)-like query on the ledger schema.
func (e *env) count(query string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.QueryRow(ctxT(e.t), query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitHandled waits until the consumer has recorded the event in its inbox.
func (e *env) waitHandled(consumer, eventID string) {
	e.t.Helper()
	eventually(e.t, 10*time.Second, fmt.Sprintf("%s to handle %s", consumer, eventID), func() bool {
		return e.count(`SELECT count(*) FROM inbox WHERE consumer = $1 AND event_id = $2`, consumer, eventID) == 1
	})
}

// waitAvailable waits until the member's available balance is want.
func (e *env) waitAvailable(memberID string, want int64) {
	e.t.Helper()
	var last int64
	eventually(e.t, 10*time.Second, fmt.Sprintf("available balance %d", want), func() bool {
		last = e.balance(memberID).GetAvailable()
		return last == want
	})
}

// streamName is the name of a stream inside the test's namespace.
func (e *env) streamName(name string) string { return strings.ToUpper(e.ns) + name }

// ledgerEvents reads every event the ledger published on subject so far.
func (e *env) ledgerEvents(subject string, newMsg func() proto.Message) []proto.Message {
	e.t.Helper()
	ctx := ctxT(e.t)
	cons, err := e.js.OrderedConsumer(ctx, e.streamName("LEDGER"), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{e.ns + subject},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []proto.Message
	for range info.NumPending {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			e.t.Fatal(err)
		}
		msg := newMsg()
		if err := proto.Unmarshal(m.Data(), msg); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, msg)
	}
	return out
}
