package service_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/services/ledger/service"
)

// seedLots writes members with lots of 7 points each (lotsPerMember apiece, n in all)
// that expire from expiresAt on, credited by one transaction per member: a programme's
// worth of lots, set-based.
func seedLots(t *testing.T, e *env, n, lotsPerMember int, expiresAt time.Time) {
	t.Helper()
	ctx := context.Background()
	members := n / lotsPerMember
	for _, q := range []string{
		`INSERT INTO members (id, display_name, email, locale, survey_consent, marketing_consent, tier, enrolled_at, idempotency_key, request_hash)
		 SELECT md5('seed-member-' || i)::uuid, 'M' || i, '', 'en', false, false, 'standard', now(), 'seed-' || i, ''
		 FROM generate_series(1, {members}) i`,
		`INSERT INTO accounts (name, member_id, balance)
		 SELECT 'member:' || m.id || s.suffix, m.id, CASE WHEN s.suffix = '' THEN 7 * {per} ELSE 0 END
		 FROM members m, unnest(ARRAY['', ':hold', ':pending', ':debt']) s(suffix)
		 WHERE m.idempotency_key LIKE 'seed-%'`,
		`INSERT INTO transactions (id, idempotency_key, kind, reason, reference, member_id, created_at)
		 SELECT md5('seed-tx-' || m.id)::uuid, 'seed:' || m.id, 'credit', 'purchase', '', m.id, now()
		 FROM members m WHERE m.idempotency_key LIKE 'seed-%'`,
		`INSERT INTO postings (transaction_id, seq, source, destination, amount)
		 SELECT md5('seed-tx-' || m.id)::uuid, 0, 'program:issued', 'member:' || m.id, 7 * {per}
		 FROM members m WHERE m.idempotency_key LIKE 'seed-%'`,
		`INSERT INTO lots (id, member_id, credit_tx, reference, points, remaining, pending, earned_at, expires_at)
		 SELECT md5('seed-lot-' || m.id || '-' || j)::uuid, m.id, md5('seed-tx-' || m.id)::uuid, 'seed', 7, 7, false, now(),
			'{at}'::timestamptz + j * interval '1 second'
		 FROM members m, generate_series(1, {per}) j WHERE m.idempotency_key LIKE 'seed-%'`,
	} {
		q = strings.NewReplacer("{members}", strconv.Itoa(members), "{per}", strconv.Itoa(lotsPerMember),
			"{at}", expiresAt.UTC().Format(time.RFC3339Nano)).Replace(q)
		if _, err := e.db.Exec(ctx, q); err != nil {
			t.Fatalf("seeding: %v\n%s", err, q)
		}
	}
}

// TestExpiryOfManyLotsOnceThroughACrash: many lots expire in batches of thousands per
// statement; the ledger is stopped in the middle of the run (its transaction in flight
// rolls back, as in a crash between statements), and the restarted one finishes: every
// lot expires exactly once and every invariant holds. LEDGER_TEST_EXPIRY_LOTS sets how
// many lots (default 50,000).
func TestExpiryOfManyLotsOnceThroughACrash(t *testing.T) {
	n := 50_000
	if s := os.Getenv("LEDGER_TEST_EXPIRY_LOTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	const perMember = 10
	clock := &testClock{}
	opts := func(c *service.Config) {
		withLots(clock, 0, "never")(c)
		c.Lots.Batch = 5000
		c.Lots.Interval = 50 * time.Millisecond
		c.Base.DBMaxConns = 8
	}
	e := started(t, opts)
	seedLots(t, e, n, perMember, clock.Now().Add(time.Hour))
	expired := func() int64 {
		return e.db.Count(`SELECT count(*) FROM transactions WHERE idempotency_key LIKE 'expire:%'`)
	}

	start := time.Now()
	clock.Advance(2 * time.Hour)
	testkit.Eventually(t, 60*time.Second, "the first batch to expire", func() bool { return expired() > 0 })
	if err := e.cur.Stop(); err != nil {
		t.Fatal(err)
	}
	stoppedAt := expired()
	if stoppedAt >= int64(n) {
		t.Logf("the run ended before the stop (%d lots): nothing was cut short", stoppedAt)
	}
	checkInvariants(t, e) // a run cut short leaves every batch whole or absent
	restarted := time.Now()
	e.start(opts)
	testkit.Eventually(t, 120*time.Second, "every lot to expire", func() bool { return expired() == int64(n) })
	rest := time.Since(restarted)
	t.Logf("%d lots expired in %v with a stop after %d; the restarted ledger expired the other %d in %v (%.0f lots/s, startup included)",
		n, time.Since(start).Round(time.Millisecond), stoppedAt, int64(n)-stoppedAt, rest.Round(time.Millisecond),
		float64(int64(n)-stoppedAt)/rest.Seconds())

	if got := e.db.Count(`SELECT COALESCE(sum(amount), 0) FROM postings WHERE destination = 'program:expired'`); got != 7*int64(n) {
		t.Errorf("%d points expired, want %d", got, 7*n)
	}
	if got := e.db.Count(`SELECT count(*) FROM lots WHERE reference = 'seed' AND (remaining <> 0 OR expired <> 7)`); got != 0 {
		t.Errorf("%d lots not expired exactly once", got)
	}
	if got := e.db.Count(`SELECT count(*) FROM accounts WHERE name LIKE 'member:%' AND balance <> 0`); got != 0 {
		t.Errorf("%d member accounts with points left", got)
	}
	checkInvariants(t, e)
}
