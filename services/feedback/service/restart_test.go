//go:build linux

package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"

	"github.com/treue/treue/services/feedback/migrations"
	"github.com/treue/treue/services/feedback/service"
)

// childEnv makes this test binary, started by a test, a real feedback process, exactly as
// cmd/feedback runs it.
const childEnv = "TREUE_FEEDBACK_TEST_CHILD"

func init() {
	if os.Getenv(childEnv) == "1" {
		svc.Main(service.Name, service.LoadConfig, service.New)
		os.Exit(0)
	}
}

// slowReceiver is a webhook endpoint on loopback that takes its time to answer, so that
// calls are in flight when the sender dies. It records each call as it arrives: a
// receiver has acted on a call even when the sender never sees the answer.
type slowReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	calls []call
}

func newSlowReceiver(t *testing.T, delay time.Duration) *slowReceiver {
	r := &slowReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			// The sender died while sending: nothing arrived.
			return
		}
		r.mu.Lock()
		r.calls = append(r.calls, call{header: req.Header.Clone(), body: body, at: time.Now()})
		r.mu.Unlock()
		time.Sleep(delay)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *slowReceiver) got() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// freeAddr is a loopback address nothing listens on now: the child's gRPC address, the
// same across restarts so that one client reaches every child.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// streamed is one event as the stream holds it.
type streamed struct {
	msgID string
	event *feedbackv1.CaseOpened
}

// openedInStream reads every feedback.case.opened message the stream holds, copies
// included, with its Nats-Msg-Id.
func openedInStream(t *testing.T, e *testkit.Env) []streamed {
	t.Helper()
	ctx := testkit.Ctx(t)
	subj := e.NS().Subject(testkit.Subject(&feedbackv1.CaseOpened{}))
	name, err := e.JS().StreamNameBySubject(ctx, subj)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := e.JS().Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var out []streamed
	for seq := uint64(1); ; {
		m, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		ev := &feedbackv1.CaseOpened{}
		if err := proto.Unmarshal(m.Data, ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, streamed{msgID: m.Header.Get(bus.HeaderMsgID), event: ev})
		seq = m.Sequence + 1
	}
}

// TestKill9MidBurstRoutesAndDeliversOnce runs a real feedback process with a webhook
// subscription to feedback.case.opened, publishes 300 detractor responses, kills the
// process with SIGKILL twice (the first time right after the second half of the responses
// was published, while webhook calls flow and the routing consumer works through the
// burst; the second time while the calls flow again), starts it again each time, and
// checks what the database, the stream and the receiver hold.
//
// What it proves: no response is lost or routed twice across a crash (one case each);
// the stream holds one feedback.case.opened per case (an outbox row published again after
// a crash is absorbed by JetStream's de-duplication on Nats-Msg-Id); every delivery ends
// DELIVERED and every case's event reaches the receiver, signed; a call arrives twice only
// if its delivery was claimed before a kill and its outcome never recorded (at most
// FEEDBACK_WEBHOOK_PARALLEL per kill), only after that claim's lease ended, and with the
// same webhook-id and the same body, so that the receiver can drop it; nothing is sent
// after all are DELIVERED.
func TestKill9MidBurstRoutesAndDeliversOnce(t *testing.T) {
	const n, batch, parallel, kills = 300, 20, 4, 2
	const lease = 4 * time.Second
	env := testkit.NewEnv(t, callers...)
	recv := newSlowReceiver(t, 25*time.Millisecond)

	base := env.Base()
	grpcAddr := freeAddr(t)
	childVars := append(env.ChildVars("FEEDBACK", grpcAddr), childEnv+"=1", "FEEDBACK_DB_MAX_CONNS=6",
		// Small consumer batches: a kill lands between commits of the routing.
		"FEEDBACK_CONSUMER_BATCH_SIZE=25",
		"FEEDBACK_WEBHOOK_ALLOW_LOOPBACK_HTTP=true", "FEEDBACK_WEBHOOK_INTERVAL=20ms",
		"FEEDBACK_WEBHOOK_TIMEOUT=2s", "FEEDBACK_WEBHOOK_LEASE="+lease.String(),
		"FEEDBACK_WEBHOOK_BACKOFF=100ms", "FEEDBACK_WEBHOOK_BACKOFF_MAX=200ms",
		fmt.Sprintf("FEEDBACK_WEBHOOK_BATCH=%d", batch), fmt.Sprintf("FEEDBACK_WEBHOOK_PARALLEL=%d", parallel),
	)
	startChild := func() *exec.Cmd { return testkit.StartChild(t, childVars...) }

	child := startChild()
	ctx := testkit.Ctx(t)
	conn, err := pgx.Connect(ctx, base.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	testkit.WaitMigrated(t, conn, "feedback", migrations.FS)

	hooks := feedbackv1.NewWebhookServiceClient(env.Conn(grpcAddr, ""))
	var sub *feedbackv1.CreateSubscriptionResponse
	testkit.Eventually(t, 30*time.Second, "the subscription created", func() bool {
		sub, err = hooks.CreateSubscription(as(keyAdmin), &feedbackv1.CreateSubscriptionRequest{
			Url: recv.URL + "/hooks", EventTypes: []string{"feedback.case.opened"}})
		if status.Code(err) == codes.Unavailable {
			return false // not listening yet
		}
		if err != nil {
			t.Fatal(err)
		}
		return true
	})

	responses := make([]*surveyv1.ResponseSubmitted, n)
	for i := range responses {
		responses[i] = newResponse(int32(i % 7)) // detractors, 0 to 6
	}
	publish := func(rs []*surveyv1.ResponseSubmitted) {
		for _, r := range rs {
			env.PublishEvent("", r)
		}
	}
	count := func(query string, args ...any) int {
		t.Helper()
		var c int
		if err := conn.QueryRow(ctx, query, args...).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// inFlight are the deliveries claimed and not recorded, read once the process is dead:
	// the only ones that may be called again.
	inFlight := map[string]bool{}
	kill := func(cmd *exec.Cmd, i int) {
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		rows, err := conn.Query(ctx, `SELECT event_id FROM feedback.webhook_deliveries WHERE status = 'PENDING' AND attempts > 0`)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			inFlight[id] = true
		}
		t.Logf("kill %d: %d calls received, %d cases, %d deliveries queued, %d delivered, %d claimed and not recorded",
			i, len(recv.got()), count(`SELECT count(*) FROM feedback.cases`), count(`SELECT count(*) FROM feedback.webhook_deliveries`),
			count(`SELECT count(*) FROM feedback.webhook_deliveries WHERE status = 'DELIVERED'`), len(ids))
	}

	// The first half opens cases whose calls start; the second half arrives right before
	// the kill, while the first calls are being made.
	publish(responses[:n/2])
	testkit.Eventually(t, 60*time.Second, "the first calls", func() bool { return len(recv.got()) >= n/8 })
	publish(responses[n/2:])
	kill(child, 1)
	if got := len(recv.got()); got >= n/2 {
		t.Fatalf("%d calls before the first kill: the test proves nothing", got)
	}

	// Again while the calls flow, after the restart.
	child = startChild()
	atKill := len(recv.got())
	testkit.Eventually(t, 60*time.Second, "calls after the restart", func() bool { return len(recv.got()) >= atKill+n/8 })
	kill(child, 2)
	if got := count(`SELECT count(*) FROM feedback.webhook_deliveries WHERE status = 'DELIVERED'`); got >= n {
		t.Fatalf("all %d delivered before the second kill: the test proves nothing", got)
	}

	startChild()
	testkit.Eventually(t, 45*time.Second, "every case opened and its call DELIVERED", func() bool {
		var cases, delivered int
		return conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM feedback.cases),
			(SELECT count(*) FROM feedback.webhook_deliveries WHERE status = 'DELIVERED')`).Scan(&cases, &delivered) == nil &&
			cases >= n && delivered >= n
	})
	done := len(recv.got())
	time.Sleep(1500 * time.Millisecond) // nothing more may arrive, nor be opened
	calls := recv.got()
	if len(calls) != done {
		t.Errorf("%d calls after every delivery was DELIVERED", len(calls)-done)
	}

	// One case per response, none lost, none twice.
	rows, err := conn.Query(ctx, `SELECT response_id::text, case_id::text FROM feedback.cases`)
	if err != nil {
		t.Fatal(err)
	}
	caseOf := map[string]string{}
	nCases := 0
	for rows.Next() {
		var resp, c string
		if err := rows.Scan(&resp, &c); err != nil {
			t.Fatal(err)
		}
		nCases++
		if caseOf[resp] != "" {
			t.Errorf("response %s has two cases", resp)
		}
		caseOf[resp] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, r := range responses {
		if caseOf[r.GetResponseId()] == "" {
			t.Errorf("response %s has no case", r.GetResponseId())
		}
	}
	if nCases != n {
		t.Errorf("%d cases for %d responses", nCases, n)
	}

	// One event per case in the stream: the relay may publish a row again after a crash,
	// under the same Nats-Msg-Id, and JetStream keeps one.
	openedOf := map[string]*feedbackv1.CaseOpened{} // by event id
	stream := openedInStream(t, env)
	for _, s := range stream {
		if openedOf[s.msgID] != nil {
			t.Errorf("event %s twice in the stream", s.msgID)
		}
		openedOf[s.msgID] = s.event
		if c := caseOf[s.event.GetResponseId()]; c != s.event.GetCaseId() {
			t.Errorf("event %s opens case %s of response %s, whose case is %q", s.msgID, s.event.GetCaseId(), s.event.GetResponseId(), c)
		}
	}
	if len(stream) != n {
		t.Errorf("%d feedback.case.opened in the stream, want %d", len(stream), n)
	}

	// One delivery per event, DELIVERED, with its outcome recorded once.
	rows, err = conn.Query(ctx, `SELECT d.event_id, d.status, d.attempts,
		(SELECT count(*) FROM feedback.webhook_attempts a WHERE a.delivery_id = d.delivery_id)
		FROM feedback.webhook_deliveries d`)
	if err != nil {
		t.Fatal(err)
	}
	attemptsOf := map[string]int{}
	for rows.Next() {
		var id, st string
		var attempts, logged int
		if err := rows.Scan(&id, &st, &attempts, &logged); err != nil {
			t.Fatal(err)
		}
		attemptsOf[id] = attempts
		if openedOf[id] == nil {
			t.Errorf("delivery of event %s, not in the stream", id)
		}
		if st != "DELIVERED" || logged != 1 {
			t.Errorf("delivery of %s: %s, %d attempts, %d recorded", id, st, attempts, logged)
		}
		if attempts > 1 && !inFlight[id] {
			t.Errorf("delivery of %s made %d attempts but was not in flight at a kill", id, attempts)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(attemptsOf) != n {
		t.Errorf("%d deliveries, want %d", len(attemptsOf), n)
	}

	// Every event arrived, signed; a copy only of a call in flight at a kill, identical.
	byID := map[string][]call{}
	for _, c := range calls {
		wantSigned(t, sub.GetSecret(), c)
		id := c.header.Get("webhook-id")
		byID[id] = append(byID[id], c)
	}
	twice := 0
	for id, ev := range openedOf {
		cs := byID[id]
		switch {
		case len(cs) == 0:
			t.Errorf("event %s (case %s) never arrived", id, ev.GetCaseId())
			continue
		case len(cs) > 1:
			twice++
			if !inFlight[id] || len(cs) > attemptsOf[id] || len(cs) > 1+kills {
				t.Errorf("event %s arrived %d times in %d attempts (in flight at a kill: %t)", id, len(cs), attemptsOf[id], inFlight[id])
			}
			for i, c := range cs[1:] {
				if !bytes.Equal(c.body, cs[0].body) {
					t.Errorf("event %s arrived with two bodies:\n%s\n%s", id, cs[0].body, c.body)
				}
				// Made again only once the lease of the lost attempt ended; the claim came
				// before the call by at most a few calls' time.
				if gap := c.at.Sub(cs[i].at); gap < lease-time.Second {
					t.Errorf("event %s arrived again %s after the previous call, before the lease of %s ended", id, gap, lease)
				}
			}
		}
		p := decode(t, cs[0])
		if p.Type != "feedback.case.opened" || p.Data["case_id"] != ev.GetCaseId() || p.Data["response_id"] != ev.GetResponseId() {
			body, _ := json.Marshal(p)
			t.Errorf("event %s (case %s) arrived as %s", id, ev.GetCaseId(), body)
		}
	}
	if len(byID) != n {
		t.Errorf("%d distinct webhook-ids, want %d", len(byID), n)
	}
	if twice > kills*parallel {
		t.Errorf("%d events arrived twice; at most %d calls are in flight at each of %d kills", twice, parallel, kills)
	}
	t.Logf("%d calls for %d cases: %d in flight at a kill arrived twice (%d deliveries claimed and not recorded at the kills)",
		len(calls), n, twice, len(inFlight))
}
