package events

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/services/ledger/internal/adapters/postgres/pgtest"
	"github.com/treue/treue/services/ledger/internal/domain"
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

// inTx runs the steps in one transaction, as the consumer runs the runs of a batch.
func inTx(pool *pgxpool.Pool, steps ...func(ctx context.Context) error) error {
	return pg.NewDB(pool, nil).InTx(context.Background(), func(ctx context.Context, _ pgx.Tx) error {
		for _, step := range steps {
			if err := step(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

// run is a route's call on ds, for inTx.
func run[T proto.Message](route func(context.Context, []bus.Delivery[T]) error, ds ...bus.Delivery[T]) func(context.Context) error {
	return func(ctx context.Context) error { return route(ctx, ds) }
}

// TestPOSBatchIsSetBased: a batch costs a handful of round trips whether it holds 10
// purchases or 500 (a large one sends its rows with COPY, which takes one more).
func TestPOSBatchIsSetBased(t *testing.T) {
	base := migrated(t)
	members := pgtest.SeedMembers(t, base, 50)
	pool, counter := countingPool(t, base)
	r := newRoutesOn(t, pool)
	ds := purchases(members, 510)

	counter.n.Store(0)
	if err := inTx(pool, run(r.purchases, ds[:10]...)); err != nil {
		t.Fatal(err)
	}
	small := counter.n.Load()
	counter.n.Store(0)
	if err := inTx(pool, run(r.purchases, ds[10:]...)); err != nil {
		t.Fatal(err)
	}
	large := counter.n.Load()
	t.Logf("round trips per batch: %d of 10 purchases, %d of 500", small, large)
	// begin, lock the members, the rules' epoch, the purchases seen before, purchases,
	// transactions, postings, balances, lots, debts, breakdowns, outbox, the tiers'
	// figures, commit: 14 whatever the batch's size.
	if large > 15 || large > small+3 {
		t.Errorf("a batch of 10 took %d round trips, one of 500 took %d; want a handful for both", small, large)
	}
	var credited int64
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM transactions`).Scan(&credited); err != nil || credited != 510 {
		t.Errorf("%d credits, %v; want 510", credited, err)
	}
}

// TestPOSBatchMixed: one batch with a purchase, the same sale under another event id,
// an anonymous sale and a sale of an unknown member, then a return of the purchase: the
// runs the consumer hands the routes, in one transaction. A return that comes before
// its purchase waits for it (a retry), booking nothing.
func TestPOSBatchMixed(t *testing.T) {
	pool := migrated(t)
	m := pgtest.SeedMembers(t, pool, 1)[0]
	r := newRoutesOn(t, pool)
	now := timestamppb.Now()
	buy := func(tx, member string, total int64) bus.Delivery[*posv1.PurchaseRecorded] {
		return delivery(&posv1.PurchaseRecorded{EventId: uuid.NewString(), StoreId: "S1", TransactionId: tx, MemberId: member,
			OccurredAt: now, Currency: "EUR", TotalMinor: total})
	}
	ret := delivery(&posv1.ReturnRecorded{EventId: uuid.NewString(), StoreId: "S1", ReturnId: "R1", OriginalTransactionId: "T1",
		OccurredAt: now, Currency: "EUR", TotalMinor: 2500})

	early := inTx(pool, run(r.returns, ret))
	if !errors.Is(early, domain.ErrPurchaseNotYetKnown) || bus.IsPermanent(early) {
		t.Errorf("a return before its purchase: %v, want a retry (ErrPurchaseNotYetKnown)", early)
	}
	err := inTx(pool,
		run(r.purchases,
			buy("T1", strings.ToUpper(m), 10000),
			buy("T1", m, 10000),
			buy("T2", "", 5000),
			buy("T3", uuid.NewString(), 5000)),
		run(r.returns, ret))
	if err != nil {
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
}

// TestPOSRefusalsAreLeftOut: a purchase the programme's rules refuse is marked refused
// (the consumer dead-letters it in the batch's transaction) while the rest of its batch
// is booked: a refusal never fails a batch, so poison never makes it retry.
// (A subject that names another store than the body is refused by the bus before any
// route: see the service's TestHostilePOSInputIsRefused.)
func TestPOSRefusalsAreLeftOut(t *testing.T) {
	pool := migrated(t)
	m := pgtest.SeedMembers(t, pool, 1)[0]
	r := newRoutesOn(t, pool)
	buy := func(tx string, change func(*posv1.PurchaseRecorded)) bus.Delivery[*posv1.PurchaseRecorded] {
		p := &posv1.PurchaseRecorded{EventId: uuid.NewString(), StoreId: "S1", TransactionId: tx, MemberId: m,
			OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 1000}
		change(p)
		return delivery(p)
	}
	tests := []struct {
		name   string
		d      bus.Delivery[*posv1.PurchaseRecorded]
		wantIn string
	}{
		{"a currency that is none", buy("T3", func(p *posv1.PurchaseRecorded) { p.Currency = "ZZZ" }), "purchase S1/T3 refused: currency"},
		{"above the ceiling", buy("T4", func(p *posv1.PurchaseRecorded) { p.TotalMinor = 10_000_001 }), "purchase S1/T4 refused: total_minor"},
	}
	batch := []bus.Delivery[*posv1.PurchaseRecorded]{buy("T5", func(*posv1.PurchaseRecorded) {})}
	for _, tt := range tests {
		batch = append(batch, tt.d)
	}
	if err := inTx(pool, run(r.purchases, batch...)); err != nil {
		t.Fatalf("a batch with refusals failed: %v", err)
	}
	for _, tt := range tests {
		if err := tt.d.Refused(); !errors.Is(err, domain.ErrRefused) || !strings.Contains(err.Error(), tt.wantIn) {
			t.Errorf("%s: refused with %v, want a refusal with %q", tt.name, err, tt.wantIn)
		}
	}
	if err := batch[0].Refused(); err != nil {
		t.Errorf("the healthy purchase was refused: %v", err)
	}
	var purchases int64
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM purchases`).Scan(&purchases); err != nil || purchases != 1 {
		t.Errorf("%d purchases, %v; want only the healthy one", purchases, err)
	}
}
