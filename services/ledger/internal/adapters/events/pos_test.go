package events_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
)

// statements counts the round trips of statements sent on a pool: queries, COPYs and
// pipelines (a pgx.Batch).
type statements struct{ n atomic.Int64 }

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.n.Add(1)
	return ctx
}
func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (s *statements) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	s.n.Add(1)
	return ctx
}
func (s *statements) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}
func (s *statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	s.n.Add(1)
	return ctx
}
func (s *statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (s *statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func countingPool(t *testing.T, pool *pgxpool.Pool) (*pgxpool.Pool, *statements) {
	t.Helper()
	cfg := pool.Config()
	s := &statements{}
	cfg.ConnConfig.Tracer = s
	counted, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(counted.Close)
	return counted, s
}

func handle(t *testing.T, pool *pgxpool.Pool, h interface {
	POS(context.Context, pgx.Tx, []*bus.Message) error
}, msgs []*bus.Message) error {
	t.Helper()
	return pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error { return h.POS(context.Background(), tx, msgs) })
}

// TestPOSBatchIsSetBased: a batch costs a handful of round trips whether it holds 10
// purchases or 500 (a large one sends its rows with COPY, which takes one more).
func TestPOSBatchIsSetBased(t *testing.T) {
	base := migrated(t)
	members := seedMembers(t, base, 50)
	pool, counter := countingPool(t, base)
	h := newHandlers(t, pool)
	msgs := purchaseMessages(t, members, 510)

	counter.n.Store(0)
	if err := handle(t, pool, h, msgs[:10]); err != nil {
		t.Fatal(err)
	}
	small := counter.n.Load()
	counter.n.Store(0)
	if err := handle(t, pool, h, msgs[10:]); err != nil {
		t.Fatal(err)
	}
	large := counter.n.Load()
	t.Logf("round trips per batch: %d of 10 purchases, %d of 500", small, large)
	if large > 12 || large > small+3 {
		t.Errorf("a batch of 10 took %d round trips, one of 500 took %d; want a handful for both", small, large)
	}
	var credited int64
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM transactions`).Scan(&credited); err != nil || credited != 510 {
		t.Errorf("%d credits, %v; want 510", credited, err)
	}
}

func message(t *testing.T, subject string, ev interface {
	proto.Message
	GetEventId() string
}) *bus.Message {
	t.Helper()
	data, err := proto.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return &bus.Message{ID: ev.GetEventId(), Subject: subject, Type: string(ev.ProtoReflect().Descriptor().FullName()),
		ContentType: bus.ContentTypeProto, Data: data, Deliveries: 1}
}

// TestPOSBatchMixed: one batch with a purchase, the same sale under another event id, a
// return of it, an anonymous sale and a sale of an unknown member.
func TestPOSBatchMixed(t *testing.T) {
	pool := migrated(t)
	m := seedMembers(t, pool, 1)[0]
	h := newHandlers(t, pool)
	now := timestamppb.Now()
	buy := func(tx, member string, total int64) *posv1.PurchaseRecorded {
		return &posv1.PurchaseRecorded{EventId: uuid.NewString(), StoreId: "S1", TransactionId: tx, MemberId: member,
			OccurredAt: now, Currency: "EUR", TotalMinor: total}
	}
	ret := &posv1.ReturnRecorded{EventId: uuid.NewString(), StoreId: "S1", ReturnId: "R1", OriginalTransactionId: "T1",
		OccurredAt: now, Currency: "EUR", TotalMinor: 2500}
	msgs := []*bus.Message{
		message(t, "pos.return.recorded.S1", ret), // before its purchase, in the same batch
		message(t, "pos.purchase.recorded.S1", buy("T1", strings.ToUpper(m), 10000)),
		message(t, "pos.purchase.recorded.S1", buy("T1", m, 10000)),
		message(t, "pos.purchase.recorded.S1", buy("T2", "", 5000)),
		message(t, "pos.purchase.recorded.S1", buy("T3", uuid.NewString(), 5000)),
		{ID: uuid.NewString(), Subject: "pos.shift.closed.S1", Data: []byte("not ours")},
	}
	if err := handle(t, pool, h, msgs); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var balance, unmatched, outbox int64
	if err := pool.QueryRow(ctx, `SELECT balance FROM accounts WHERE name = 'member:' || $1`, m).Scan(&balance); err != nil || balance != 75 {
		t.Errorf("balance %d, %v; want 100 credited and 25 returned", balance, err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM unmatched_purchases`).Scan(&unmatched); err != nil || unmatched != 1 {
		t.Errorf("%d unmatched, %v; want 1", unmatched, err)
	}
	// points.credited, points.debited, purchase.unmatched
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&outbox); err != nil || outbox != 3 {
		t.Errorf("%d events, %v; want 3", outbox, err)
	}

	invalid := buy("T4", m, 100)
	invalid.StoreId = "S 1"
	err := handle(t, pool, h, []*bus.Message{message(t, "pos.purchase.recorded.S1", invalid)})
	if !bus.IsPermanent(err) || !strings.Contains(err.Error(), "store_id") {
		t.Errorf("invalid purchase: %v, want a permanent error naming store_id", err)
	}
}

// TestPOSRefusalsArePermanent: a purchase the programme's rules refuse, or one published
// under another store's subject, fails its batch with a permanent error (the consumer
// dead-letters it at once) and books nothing.
func TestPOSRefusalsArePermanent(t *testing.T) {
	pool := migrated(t)
	m := seedMembers(t, pool, 1)[0]
	h := newHandlers(t, pool)
	buy := func(tx string, change func(*posv1.PurchaseRecorded)) *posv1.PurchaseRecorded {
		p := &posv1.PurchaseRecorded{EventId: uuid.NewString(), StoreId: "S1", TransactionId: tx, MemberId: m,
			OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 1000}
		change(p)
		return p
	}
	tests := []struct {
		name    string
		subject string
		ev      *posv1.PurchaseRecorded
		wantIn  string
	}{
		{"another store's subject", "pos.purchase.recorded.S2", buy("T1", func(*posv1.PurchaseRecorded) {}), `subject names store "S2" but store_id is "S1"`},
		{"a subject with more tokens", "pos.purchase.recorded.S1.x", buy("T2", func(*posv1.PurchaseRecorded) {}), `subject names store "S1.x"`},
		{"a currency that is none", "pos.purchase.recorded.S1", buy("T3", func(p *posv1.PurchaseRecorded) { p.Currency = "ZZZ" }), "purchase S1/T3 refused: currency"},
		{"above the ceiling", "pos.purchase.recorded.S1", buy("T4", func(p *posv1.PurchaseRecorded) { p.TotalMinor = 10_000_001 }), "purchase S1/T4 refused: total_minor"},
	}
	for _, tt := range tests {
		err := handle(t, pool, h, []*bus.Message{message(t, tt.subject, tt.ev)})
		if !bus.IsPermanent(err) || !strings.Contains(err.Error(), tt.wantIn) {
			t.Errorf("%s: %v, want a permanent error with %q", tt.name, err, tt.wantIn)
		}
	}
	if err := handle(t, pool, h, []*bus.Message{message(t, "pos.purchase.recorded.S1", buy("T5", func(*posv1.PurchaseRecorded) {}))}); err != nil {
		t.Fatalf("healthy purchase: %v", err)
	}
	var purchases int64
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM purchases`).Scan(&purchases); err != nil || purchases != 1 {
		t.Errorf("%d purchases, %v; want only the healthy one", purchases, err)
	}
}
