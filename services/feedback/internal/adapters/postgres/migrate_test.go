package postgres_test

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"

	"github.com/treue/treue/services/feedback/internal/adapters/postgres"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/convert"
	"github.com/treue/treue/services/feedback/internal/domain"
	"github.com/treue/treue/services/feedback/migrations"
)

// migrationsBefore is the service's migrations older than version (a file name prefix).
func migrationsBefore(t *testing.T, version string) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f >= version {
			continue
		}
		b, err := fs.ReadFile(migrations.FS, f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = &fstest.MapFile{Data: b}
	}
	return out
}

// TestGoodwillGrantsTakeTheGoodwillGrantedBefore: a case that granted goodwill before
// the goodwill_grants table existed is in it after the upgrade (from the ledger's
// GOODWILL credit naming the case), so that it cannot grant a second time; other credits
// and a credit naming no case are not grants.
func TestGoodwillGrantsTakeTheGoodwillGrantedBefore(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, err := pg.Connect(ctx, testkit.Database(t), schema, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pg.Migrate(ctx, pool, schema, testkit.Logger(t), bus.Migrations(), pg.Migration{Name: schema, FS: migrationsBefore(t, "00012")}); err != nil {
		t.Fatal(err)
	}
	outbox, err := bus.NewOutbox(convert.Produces...)
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewStore(pg.NewDB(pool, nil), outbox)
	member := uuid.NewString()
	granted, other := caseOf(member), caseOf(member)
	if err := store.InTx(ctx, func(ctx context.Context, tx app.Tx) error {
		_, err := tx.AddCases(ctx, []domain.Case{granted, other})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO member_events (event_key, member_id, at, kind, detail, delta) VALUES
			('e1', $1, now(), 'points_credited', jsonb_build_object('points', 300, 'reason', 'GOODWILL', 'reference', $2::text), 300),
			('e2', $1, now(), 'points_credited', jsonb_build_object('points', 40, 'reason', 'PURCHASE', 'reference', $3::text), 40),
			('e3', $1, now(), 'points_credited', jsonb_build_object('points', 50, 'reason', 'GOODWILL', 'reference', 'not-a-case'), 50)`,
		member, granted.ID, other.ID); err != nil {
		t.Fatal(err)
	}

	if err := pg.Migrate(ctx, pool, schema, testkit.Logger(t), bus.Migrations(), pg.Migration{Name: schema, FS: migrations.FS}); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT case_id::text, member_id, points FROM goodwill_grants`)
	if err != nil {
		t.Fatal(err)
	}
	type grant struct {
		caseID, member string
		points         int64
	}
	var got []grant
	for rows.Next() {
		var g grant
		if err := rows.Scan(&g.caseID, &g.member, &g.points); err != nil {
			t.Fatal(err)
		}
		got = append(got, g)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (grant{granted.ID, member, 300}) {
		t.Errorf("grants after the upgrade %v, want the case's 300 points only", got)
	}
}
