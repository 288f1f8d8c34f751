package service_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/services/ledger/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// env is one test's world and the ledger instances started in it, one after another.
type env struct {
	*testkit.Env
	t   testing.TB
	db  *testkit.DB // the ledger schema, for checks
	cur *testkit.Running[*service.Service]
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return &env{Env: testkit.NewEnv(t), t: t}
}

func (e *env) config() service.Config {
	cfg := service.Config{
		Base:               e.Base(),
		SurveyBonusPoints:  50,
		HoldExpiryInterval: 100 * time.Millisecond,
	}
	cfg.Base.Hooks = svc.ConsumerHooks{Backoff: []time.Duration{100 * time.Millisecond}}
	return cfg
}

// started runs the test in parallel with the others, in a world of its own with a
// ledger started in it.
func started(t *testing.T, mutate ...func(*service.Config)) *env {
	t.Helper()
	t.Parallel()
	e := newEnv(t)
	e.start(mutate...)
	return e
}

// start runs a ledger instance until the test ends (or it is stopped).
func (e *env) start(mutate ...func(*service.Config)) *testkit.Running[*service.Service] {
	e.t.Helper()
	cfg := e.config()
	for _, m := range mutate {
		m(&cfg)
	}
	e.cur = testkit.Start(e.t, service.New, cfg)
	if e.db == nil {
		e.db = e.DB(service.Schema)
	}
	return e.cur
}

// ledger is a client of the current instance as a caller with role ("" for no key).
func (e *env) ledger(role string) ledgerv1.LedgerServiceClient {
	return ledgerv1.NewLedgerServiceClient(e.Conn(e.cur.Service.GRPCAddr(), role))
}

func (e *env) admin() adminv1.AdminServiceClient {
	return adminv1.NewAdminServiceClient(e.Conn(e.cur.Service.GRPCAddr(), "admin"))
}

// enroll creates a member and returns its id.
func (e *env) enroll(name string) string {
	e.t.Helper()
	resp, err := e.ledger("admin").Enroll(testkit.Ctx(e.t), &ledgerv1.EnrollRequest{
		IdempotencyKey: "enroll-" + uuid.NewString(), DisplayName: name, Email: strings.ToLower(name) + "@example.com",
	})
	if err != nil {
		e.t.Fatalf("enroll %s: %v", name, err)
	}
	return resp.GetMember().GetMemberId()
}

// memberWithPoints enrols a member and credits them points with a purchase (S1/T1),
// and returns the member's id.
func (e *env) memberWithPoints(name string, points int64) string {
	e.t.Helper()
	m := e.enroll(name)
	e.publishPurchase(purchase("S1", "T1", m, points*100))
	e.waitAvailable(m, points)
	return m
}

func (e *env) balance(memberID string) *ledgerv1.GetBalanceResponse {
	e.t.Helper()
	b, err := e.ledger("admin").GetBalance(testkit.Ctx(e.t), &ledgerv1.GetBalanceRequest{MemberId: memberID})
	if err != nil {
		e.t.Fatalf("balance: %v", err)
	}
	return b
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

// stream is the full name of the stream of msg's events in the test's namespace.
func (e *env) stream(msg proto.Message) string { return e.NS().Stream(bus.MustSpec(msg).Stream.Name) }

// send publishes msg on its subject with the event id id ("" for a fresh one).
func (e *env) send(id string, msg proto.Message) testkit.Sent {
	e.t.Helper()
	return e.PublishEvent(id, msg)
}

// published reads every event of type M the ledger published.
func published[M proto.Message](e *env) []M {
	var zero M
	return testkit.Events[M](e.Env, bus.MustSpec(zero).Subject)
}

func (e *env) publishPurchase(p *posv1.PurchaseRecorded) testkit.Sent {
	e.t.Helper()
	return e.send(p.GetEventId(), p)
}

func (e *env) publishReturn(r *posv1.ReturnRecorded) testkit.Sent {
	e.t.Helper()
	return e.send(r.GetEventId(), r)
}

// waitAvailable waits until the member's available balance is want.
func (e *env) waitAvailable(memberID string, want int64) {
	e.t.Helper()
	testkit.Eventually(e.t, 10*time.Second, fmt.Sprintf("available balance %d", want), func() bool {
		return e.balance(memberID).GetAvailable() == want
	})
}

// testClock is the ledger's clock in a test (service.Config.Now): the real time, moved
// forward on demand.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }
