//go:build linux

package service_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/services/survey/migrations"
	"github.com/treue/treue/services/survey/service"
)

// childEnv makes this test binary, started by a test, a real survey process, exactly as
// cmd/survey runs it.
const childEnv = "TREUE_SURVEY_TEST_CHILD"

func init() {
	if os.Getenv(childEnv) == "1" {
		svc.Main(service.Name, service.LoadConfig, service.New)
		os.Exit(0)
	}
}

// TestDeliveryKill9Restart schedules 200 due invitations, lets a real survey process send
// them to a (slow) SMTP server, kills it with SIGKILL in the middle, starts it again, and
// checks by Message-ID what arrived.
//
// What it proves: no invitation is lost across a crash (every one arrives and ends SENT);
// an invitation arrives twice only if its attempt was claimed before the kill and its
// outcome never recorded (it was being sent: at most SURVEY_SEND_PARALLEL), and then exactly twice,
// the second time after the lease; nothing else is sent twice, and nothing is sent after
// all are SENT.
func TestDeliveryKill9Restart(t *testing.T) {
	const n, batch, parallel = 200, 20, 4
	env := testkit.NewEnv(t)
	smtp := testkit.StartSMTP(t)
	smtp.SetDelay(15 * time.Millisecond)

	base := env.Base()
	childVars := append(env.ChildVars("SURVEY", "127.0.0.1:0"), childEnv+"=1", "SURVEY_DB_MAX_CONNS=4",
		"SURVEY_TOKEN_SECRET="+testSecret, "SURVEY_PUBLIC_URL="+publicURL,
		"SURVEY_SMTP_ADDR="+smtp.Addr(), "SURVEY_QUIET_HOURS=off",
		"SURVEY_DISPATCH_INTERVAL=20ms", "SURVEY_DELIVERY_LEASE=2s",
		fmt.Sprintf("SURVEY_DISPATCH_BATCH=%d", batch), fmt.Sprintf("SURVEY_SEND_PARALLEL=%d", parallel),
	)
	startChild := func() *exec.Cmd { return testkit.StartChild(t, childVars...) }

	first := startChild()
	ctx := testkit.Ctx(t)
	conn, err := pgx.Connect(ctx, base.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	testkit.WaitMigrated(t, conn, "survey", migrations.FS)

	// 200 members and their invitations, due now, in one transaction.
	ids := make([]string, n)
	members := make([]string, n)
	for i := range ids {
		ids[i], members[i] = uuid.NewString(), uuid.NewString()
	}
	if _, err := conn.Exec(ctx, `
		WITH m AS (INSERT INTO survey.members (member_id, locale, survey_consent, as_of, email)
			SELECT unnest($2::text[]), 'en', true, now(), 'kill@example.test')
		INSERT INTO survey.invitations (id, survey_id, member_id, locale, touchpoint, store_id, trigger_event_id,
			trigger_key, expires_at, created_at, status, due_at, channels)
		SELECT u.id, '0192f0c8-5a1e-7000-8000-000000000001', u.member, 'en', 'PURCHASE', 'S1', u.id::text,
			'pos:S1:' || u.id::text, date_trunc('second', now()) + interval '7 days', now(), 'SCHEDULED', now(), '{EMAIL}'
		FROM unnest($1::uuid[], $2::text[]) AS u(id, member)`, ids, members); err != nil {
		t.Fatal(err)
	}

	// Kill it in the middle of sending.
	testkit.Eventually(t, 60*time.Second, "the first sends", func() bool { return len(smtp.Messages()) >= n/5 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	atKill := len(smtp.Messages())
	if atKill >= n {
		t.Fatalf("all %d sent before the kill: the test proves nothing", atKill)
	}
	var claimedUnsent int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM survey.invitations WHERE status = 'SCHEDULED' AND attempts > 0`).Scan(&claimedUnsent); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed after %d of %d messages; %d attempts claimed and not recorded", atKill, n, claimedUnsent)

	startChild()
	testkit.Eventually(t, 90*time.Second, "every invitation SENT", func() bool {
		var sent int
		return conn.QueryRow(ctx, `SELECT count(*) FROM survey.invitations WHERE id = ANY($1) AND status = 'SENT'`, ids).Scan(&sent) == nil && sent == n
	})
	time.Sleep(time.Second) // nothing more may arrive

	byID := map[string]int{}
	for _, m := range smtp.Messages() {
		byID[strings.TrimSuffix(strings.TrimPrefix(m.Header.Get("Message-Id"), "<"), "@treue>")]++
	}
	twice := 0
	for _, id := range ids {
		switch c := byID[id]; {
		case c == 0:
			t.Errorf("%s never arrived", id)
		case c == 2:
			twice++
			// In flight at the kill: claimed by the first process, sent again by the second.
			var attempts int
			var logged int64
			if err := conn.QueryRow(ctx, `SELECT attempts, (SELECT count(*) FROM survey.deliveries d WHERE d.invitation_id = i.id)
				FROM survey.invitations i WHERE id = $1`, id).Scan(&attempts, &logged); err != nil {
				t.Fatal(err)
			}
			if attempts != 2 || logged != 1 {
				t.Errorf("%s arrived twice with %d attempts and %d logged deliveries: not an in-flight one", id, attempts, logged)
			}
		case c > 2:
			t.Errorf("%s arrived %d times", id, c)
		}
	}
	if len(byID) != n {
		t.Errorf("%d distinct Message-IDs, want %d", len(byID), n)
	}
	// Outcomes are recorded one by one as the sends finish: only the messages being sent at
	// the kill (at most SURVEY_SEND_PARALLEL) can go out twice.
	if int64(twice) > claimedUnsent || twice > parallel {
		t.Errorf("%d sent twice, but only %d were claimed and unrecorded (%d sent at once)", twice, claimedUnsent, parallel)
	}
	t.Logf("%d messages for %d invitations: %d in flight at the kill sent twice", len(smtp.Messages()), n, twice)
}
