package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/services/survey/internal/adapters/postgres"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
	"github.com/treue/treue/services/survey/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func migrated(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testkit.Database(t), "survey", 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := pg.Migrate(ctx, pool, "survey", log, bus.Migrations(), pg.Migration{Name: "survey", FS: migrations.FS}); err != nil {
		t.Fatal(err)
	}
	return pool
}

func begin(t *testing.T, pool *pgxpool.Pool) pgx.Tx {
	t.Helper()
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

func commit(t *testing.T, tx pgx.Tx) {
	t.Helper()
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// meanwhile runs fn in another goroutine; its result arrives on the channel.
func meanwhile[T any](fn func() T) <-chan T {
	ch := make(chan T, 1)
	go func() { ch <- fn() }()
	return ch
}

// wantWaiting fails the test if ch delivers within a moment: the work behind it must be
// waiting for a lock that the test's other transaction holds until it commits.
func wantWaiting[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case got := <-ch:
		t.Fatalf("%s did not wait for the other transaction to commit (it returned %+v)", what, got)
	case <-time.After(200 * time.Millisecond):
	}
}

// Two transactions claiming the same member at once: the second waits for the first
// and, once it commits, finds the member already contacted.
func TestClaimContactsIsExclusiveAcrossTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := migrated(t)
	if _, err := pool.Exec(ctx, `INSERT INTO members (member_id, locale, survey_consent) VALUES ('m1', 'de', true)`); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	notAfter := now.Add(-30 * 24 * time.Hour)

	tx1 := begin(t, pool)
	got1, err := postgres.NewTx(tx1, nil).ClaimContacts(ctx, triggers("m1"), now, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	if len(got1) != 1 || got1[0].Status != app.ContactClaimed || got1[0].Locale != "de" {
		t.Fatalf("first claim = %+v, want claimed", got1)
	}

	tx2 := begin(t, pool)
	second := meanwhile(func() []app.ContactState {
		got, err := postgres.NewTx(tx2, nil).ClaimContacts(ctx, triggers("m1"), now, notAfter)
		if err != nil {
			t.Error(err)
		}
		return got
	})
	wantWaiting(t, second, "the second claim")
	commit(t, tx1)
	if got := <-second; len(got) != 0 {
		t.Errorf("second claim = %+v, want nothing (member already contacted)", got)
	}
}

func TestClaimContactsReportsUnknownAndErasedMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := migrated(t)
	if _, err := pool.Exec(ctx, `
		INSERT INTO members (member_id, survey_consent, last_invited_at) VALUES
			('consents', true, NULL), ('no-consent', false, NULL), ('recent', true, now() - interval '1 day'),
			('long-ago', true, now() - interval '40 days'), ('invited', true, NULL);
		INSERT INTO invitations (id, survey_id, member_id, touchpoint, store_id, trigger_event_id, trigger_key, expires_at, created_at)
		VALUES (gen_random_uuid(), '0192f0c8-5a1e-7000-8000-000000000001', 'invited', 'PURCHASE', 'S1',
		        'ev-invited', 'pos:S1:T-invited', now(), now());
		INSERT INTO erased_members (member_id, erased_at) VALUES ('erased', now())`); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tx := begin(t, pool)
	got, err := postgres.NewTx(tx, nil).ClaimContacts(ctx,
		triggers("consents", "no-consent", "recent", "long-ago", "erased", "unknown", "invited"), now, now.Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]app.ContactStatus{}
	for _, s := range got {
		status[s.MemberID] = s.Status
	}
	// no-consent and recent may not be asked; invited's trigger already has its
	// invitation: none of them is reported.
	want := map[string]app.ContactStatus{
		"consents": app.ContactClaimed, "long-ago": app.ContactClaimed,
		"erased": app.ContactErased, "unknown": app.ContactUnknown,
	}
	if len(status) != len(want) {
		t.Errorf("got %v, want %v", status, want)
	}
	for id, s := range want {
		if status[id] != s {
			t.Errorf("%s: %v, want %v", id, status[id], s)
		}
	}
}

// A trigger parked while the member's enrolment is under way is seen by that enrolment:
// both lock the member first, so one transaction runs after the other.
func TestLockMembersSerialisesParkingAndEnrolment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := migrated(t)
	now := time.Now()

	parking := begin(t, pool)
	pw := postgres.NewTx(parking, nil)
	if err := pw.LockMembers(ctx, []string{"m1", "m2"}); err != nil {
		t.Fatal(err)
	}
	trigger := domain.PurchaseTrigger("ev-1", "S1", "T1", "m1", now)
	if err := pw.ParkTriggers(ctx, []domain.Trigger{trigger}, now); err != nil {
		t.Fatal(err)
	}

	enrolment := begin(t, pool)
	taken := meanwhile(func() []domain.Trigger {
		ew := postgres.NewTx(enrolment, nil)
		// Locks in another order: the keys are sorted, so no deadlock.
		if err := ew.LockMembers(ctx, []string{"m2", "m1"}); err != nil {
			t.Error(err)
		}
		got, err := ew.TakeParkedTriggers(ctx, []string{"m1"}, now.Add(-time.Hour))
		if err != nil {
			t.Error(err)
		}
		return got
	})
	wantWaiting(t, taken, "the enrolment")
	commit(t, parking)
	got := <-taken
	if len(got) != 1 || got[0].EventID != "ev-1" || got[0].Key != trigger.Key || got[0].Touchpoint != domain.TouchpointPurchase {
		t.Errorf("enrolment took %+v, want the parked trigger", got)
	}
}

// openInvitation stores an open invitation of member and returns it.
func openInvitation(t *testing.T, pool *pgxpool.Pool, member string) domain.Invitation {
	t.Helper()
	now := time.Now()
	inv := domain.NewInvitation(uuid.NewString(), domain.DefaultNPSSurveyID,
		domain.PurchaseTrigger("ev-"+member, "S1", "T-"+member, member, now), "de", now, time.Hour)
	tx := begin(t, pool)
	if _, err := postgres.NewTx(tx, nil).CreateInvitations(context.Background(), []domain.Invitation{inv}); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	return inv
}

// A response being recorded while its member is erased: the erasure waits for it and
// then clears its comment, so no comment outlives the erasure.
func TestEraseMembersWaitsForAResponseBeingRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := migrated(t)
	inv := openInvitation(t, pool, "m1")

	answering := begin(t, pool)
	aw := postgres.NewTx(answering, nil)
	locked, err := aw.LockInvitation(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := aw.VersionInTx(ctx, locked.SurveyID, locked.SurveyVersion)
	if err != nil {
		t.Fatal(err)
	}
	r, err := domain.NewScoreResponse(uuid.NewString(), locked, v, 2, "Frau Müller an Kasse 3", "de", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := aw.AddResponse(ctx, r); err != nil {
		t.Fatal(err)
	}

	erasing := begin(t, pool)
	erased := meanwhile(func() error { return postgres.NewTx(erasing, nil).EraseMembers(ctx, []string{"m1"}, time.Now()) })
	wantWaiting(t, erased, "the erasure")
	commit(t, answering)
	if err := <-erased; err != nil {
		t.Fatal(err)
	}
	commit(t, erasing)
	var score int
	var comment, answers string
	if err := pool.QueryRow(ctx, `SELECT score, comment, answers::text FROM responses WHERE invitation_id = $1`, inv.ID).Scan(&score, &comment, &answers); err != nil {
		t.Fatal(err)
	}
	if score != 2 || comment != "" || strings.Contains(answers, "Müller") || !strings.Contains(answers, `"score": 2`) {
		t.Errorf("response after erasure: score %d, comment %q, answers %s; want the score kept and no text", score, comment, answers)
	}
}

// An answer that starts while its member's erasure is under way waits for it and then
// finds the invitation anonymised and closed.
func TestLockInvitationWaitsForAnErasure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := migrated(t)
	inv := openInvitation(t, pool, "m1")

	erasing := begin(t, pool)
	at := time.Now()
	if err := postgres.NewTx(erasing, nil).EraseMembers(ctx, []string{"m1"}, at); err != nil {
		t.Fatal(err)
	}
	answering := begin(t, pool)
	got := meanwhile(func() domain.Invitation {
		locked, err := postgres.NewTx(answering, nil).LockInvitation(ctx, inv.ID)
		if err != nil {
			t.Error(err)
		}
		return locked
	})
	wantWaiting(t, got, "the answer")
	commit(t, erasing)
	if locked := <-got; locked.MemberID != "" || locked.Locale != "" || locked.Open(at) {
		t.Errorf("invitation after erasure = %+v, want it anonymised and closed", locked)
	}
}

// triggers returns one purchase trigger per member, keyed by the member's id.
func triggers(members ...string) []domain.Trigger {
	out := make([]domain.Trigger, len(members))
	for i, m := range members {
		out[i] = domain.PurchaseTrigger("ev-"+m, "S1", "T-"+m, m, time.Now())
	}
	return out
}
