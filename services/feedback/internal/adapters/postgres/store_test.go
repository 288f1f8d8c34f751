package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"

	"github.com/treue/treue/services/feedback/internal/adapters/postgres"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/convert"
	"github.com/treue/treue/services/feedback/internal/domain"
	"github.com/treue/treue/services/feedback/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const schema = "feedback"

func newStore(t *testing.T) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	ctx := testkit.Ctx(t)
	pool, err := pg.Connect(ctx, testkit.Database(t), schema, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pg.Migrate(ctx, pool, schema, testkit.Logger(t), bus.Migrations(), pg.Migration{Name: schema, FS: migrations.FS}); err != nil {
		t.Fatal(err)
	}
	outbox, err := bus.NewOutbox(convert.Produces...)
	if err != nil {
		t.Fatal(err)
	}
	return postgres.NewStore(pg.NewDB(pool, nil), outbox), pool
}

func caseOf(member string) domain.Case {
	now := time.Now().UTC().Truncate(time.Microsecond)
	r := domain.Response{ResponseID: uuid.NewString(), MemberID: member, SurveyID: "nps", Score: 2, Comment: "call me on 0171 555",
		NPSClass: domain.NPSDetractor, Touchpoint: "PURCHASE", StoreID: "s1", SubmittedAt: now}
	rule := domain.Rule{ID: 1, Version: 1, Kind: domain.KindCallback, Team: "customer-service", ResolutionSLA: 48 * time.Hour}
	return domain.OpenCase(uuid.NewString(), r, rule, now)
}

// waitForLock returns once another session of the database waits for a lock, or
// reports that done (buffered, and left as it was) came first: the other transaction
// did not wait.
func waitForLock(t *testing.T, pool *pgxpool.Pool, done chan error, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			done <- err
			t.Errorf("%s did not wait", what)
			return
		default:
		}
		var n int
		if err := pool.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s neither waited nor finished", what)
}

// finish waits for each transaction, in order, and fails on its error.
func finish(t *testing.T, done ...chan error) {
	t.Helper()
	for _, d := range done {
		if err := <-d; err != nil {
			t.Fatal(err)
		}
	}
}

// work is a transaction in two halves, so that another can start between them.
type work struct {
	before, after func(ctx context.Context, tx app.Tx) error
}

// storing is the application's part of a batch that opens c: ask whether the member is
// erased, anonymise the case if so, store it.
func storing(c *domain.Case) work {
	var gone map[string]bool
	return work{
		before: func(ctx context.Context, tx app.Tx) (err error) {
			gone, err = tx.ErasedMembers(ctx, []string{c.MemberID})
			return err
		},
		after: func(ctx context.Context, tx app.Tx) error {
			if gone[c.MemberID] {
				c.Anonymise(time.Now())
			}
			_, err := tx.AddCases(ctx, []domain.Case{*c})
			return err
		},
	}
}

func erasing(member string) work {
	return work{
		before: func(ctx context.Context, tx app.Tx) error {
			_, err := tx.EraseMembers(ctx, []string{member}, time.Now())
			return err
		},
		after: func(context.Context, app.Tx) error { return nil },
	}
}

// A member's erasure and a batch storing a case of theirs run at once, on two consumers:
// whichever starts first, the case ends up without personal data.
func TestErasureAndNewCasesExcludeEachOther(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		first, second func(member string, c *domain.Case) work
	}{
		{"erasure while a case is being stored",
			func(_ string, c *domain.Case) work { return storing(c) },
			func(member string, _ *domain.Case) work { return erasing(member) }},
		{"case stored while an erasure runs",
			func(member string, _ *domain.Case) work { return erasing(member) },
			func(_ string, c *domain.Case) work { return storing(c) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store, pool := newStore(t)
			member := uuid.NewString()
			c := caseOf(member)
			first, second := tt.first(member, &c), tt.second(member, &c)

			paused, release := make(chan struct{}), make(chan struct{})
			firstDone, secondDone := make(chan error, 1), make(chan error, 1)
			go func() {
				firstDone <- store.InTx(ctx, func(ctx context.Context, tx app.Tx) error {
					err := first.before(ctx, tx)
					close(paused)
					if err != nil {
						return err
					}
					<-release
					return first.after(ctx, tx)
				})
			}()
			<-paused
			go func() {
				secondDone <- store.InTx(ctx, func(ctx context.Context, tx app.Tx) error {
					if err := second.before(ctx, tx); err != nil {
						return err
					}
					return second.after(ctx, tx)
				})
			}()
			waitForLock(t, pool, secondDone, "the second transaction")
			close(release)
			finish(t, firstDone, secondDone)

			got, err := store.Case(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.MemberID != "" || got.Comment != "" || got.AnonymisedAt.IsZero() {
				t.Errorf("case stored during an erasure keeps personal data: %+v", got)
			}
			d, err := store.MemberData(ctx, member)
			if err != nil || len(d.Cases) != 0 || d.ErasedAt.IsZero() {
				t.Errorf("member data after erasure = %+v, %v", d, err)
			}
		})
	}
}
