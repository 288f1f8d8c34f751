package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/cpustat"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/services/ledger/internal/adapters/events"
	"github.com/treue/treue/services/ledger/internal/adapters/postgres"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// migrated returns a pool on a fresh, migrated ledger schema.
func migrated(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testkit.Database(tb), "ledger", 4)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if err := pg.Migrate(ctx, pool, "ledger", slog.New(slog.DiscardHandler), bus.Migrations(),
		pg.Migration{Name: "ledger", FS: migrations.FS}); err != nil {
		tb.Fatal(err)
	}
	return pool
}

// seedMembers enrols n members directly in SQL (fast) and returns their ids.
func seedMembers(tb testing.TB, pool *pgxpool.Pool, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
	}
	_, err := pool.Exec(context.Background(), `
		WITH m AS (
			INSERT INTO members (id, display_name, email, locale, survey_consent, marketing_consent, tier, enrolled_at, idempotency_key, request_hash)
			SELECT id, 'Member', 'm@example.com', 'en', true, true, 'standard', now(), 'seed-' || id, ''
			FROM unnest($1::uuid[]) AS id
			RETURNING id)
		INSERT INTO accounts (name, member_id, balance)
		SELECT 'member:' || m.id || s.suffix, m.id, 0 FROM m, unnest(ARRAY['', ':hold', ':pending']) AS s(suffix)`, ids)
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

func newHandlers(tb testing.TB, pool *pgxpool.Pool) *events.Handlers {
	tb.Helper()
	log := slog.New(slog.DiscardHandler)
	rules, err := domain.NewPOSRules([]domain.Tender{{Currency: "EUR", PointsPerUnit: domain.MustRate(1, 1), MaxMinor: 10_000_000}},
		5*time.Minute, 0)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := app.New(postgres.NewStore(pool), app.Config{
		POS: rules, SurveyBonusPoints: 50, HoldTTL: time.Minute,
	}, func() string { return uuid.Must(uuid.NewV7()).String() }, time.Now, log)
	if err != nil {
		tb.Fatal(err)
	}
	h, err := events.New(a, log)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// purchaseMessages builds n purchase messages spread over members, as the consumer
// hands them to the handler.
func purchaseMessages(tb testing.TB, members []string, n int) []*bus.Message {
	tb.Helper()
	msgs := make([]*bus.Message, n)
	now := timestamppb.Now()
	for i := range msgs {
		ev := &posv1.PurchaseRecorded{
			EventId: uuid.NewString(), StoreId: "S" + fmt.Sprint(i%20), TransactionId: fmt.Sprintf("T%09d", i),
			MemberId: members[i%len(members)], OccurredAt: now, Currency: "EUR", TotalMinor: int64(1000 + i%9000),
			Lines: []*posv1.Line{
				{Sku: "SKU-1", Description: "Coffee", Quantity: 2, AmountMinor: 500},
				{Sku: "SKU-2", Description: "Cake", Quantity: 1, AmountMinor: int64(500 + i%9000)},
			},
		}
		data, err := proto.Marshal(ev)
		if err != nil {
			tb.Fatal(err)
		}
		msgs[i] = &bus.Message{
			ID: ev.GetEventId(), Subject: "pos.purchase.recorded." + ev.GetStoreId(), Type: "treue.pos.v1.PurchaseRecorded",
			ContentType: bus.ContentTypeProto, Data: data, Deliveries: 1,
		}
	}
	return msgs
}

// BenchmarkPOSHandler measures the purchase batch handler on real Postgres: batches of
// 500 purchases per transaction, with the inbox rows the consumer writes, as in
// production.
func BenchmarkPOSHandler(b *testing.B) {
	pool := migrated(b)
	members := seedMembers(b, pool, 2000)
	h := newHandlers(b, pool)
	msgs := purchaseMessages(b, members, b.N)
	ctx := context.Background()
	const batch = 500
	pgBefore, pgOK := cpustat.Backends(ctx, pool)
	goBefore := cpustat.Process()
	b.ResetTimer()
	for start := 0; start < len(msgs); start += batch {
		part := msgs[start:min(start+batch, len(msgs))]
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			ids := make([]string, len(part))
			for i, m := range part {
				ids[i] = m.ID
			}
			if _, err := tx.Exec(ctx, `INSERT INTO inbox (consumer, event_id) SELECT 'ledger-pos', unnest($1::text[])`, ids); err != nil {
				return err
			}
			return h.POS(ctx, tx, part)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	goCPU := cpustat.Process() - goBefore
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "purchases/s")
	b.ReportMetric(float64(goCPU.Microseconds())/float64(b.N), "go-cpu-µs/purchase")
	if pgAfter, ok := cpustat.Backends(ctx, pool); ok && pgOK {
		b.ReportMetric(float64(cpustat.Since(pgBefore, pgAfter).Microseconds())/float64(b.N), "pg-cpu-µs/purchase")
	}
	var credited int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE kind = 'credit'`).Scan(&credited); err != nil {
		b.Fatal(err)
	}
	if credited != int64(b.N) {
		b.Fatalf("credited %d purchases, want %d", credited, b.N)
	}
}
