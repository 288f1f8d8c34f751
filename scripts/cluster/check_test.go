//go:build linux

package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/treue/treue/scripts/internal/stack"
)

func jsOn(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// streamLeader is the server that leads stream's replicas.
func streamLeader(t *testing.T, ctx context.Context, js jetstream.JetStream, stream string) string {
	t.Helper()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 || info.Config.Replicas != 3 {
		t.Fatalf("stream %s is not replicated three times: %+v (config replicas %d)", stream, info.Cluster, info.Config.Replicas)
	}
	return info.Cluster.Leader
}

func sumInts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func (w *world) count(ctx context.Context, query string, args ...any) int64 {
	var n int64
	if err := w.db.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return -1
	}
	return n
}

// waitDrained waits until the system has done everything the load asked of it, and
// returns how long that took.
func waitDrained(t *testing.T, ctx context.Context, w *world, l *load) time.Duration {
	t.Helper()
	start := time.Now()
	answers := int64(sumInts(l.answers))
	conds := []struct {
		what string
		ok   func() bool
	}{
		{"every purchase booked", func() bool { return w.count(ctx, `SELECT count(*) FROM ledger.purchases`) == int64(len(l.acked)) }},
		{"every return booked", func() bool { return w.count(ctx, `SELECT count(*) FROM ledger.returns`) == int64(l.returns) }},
		{"no redemption left requested", func() bool {
			return w.count(ctx, `SELECT count(*) FROM rewards.redemptions WHERE status = 'requested'`) == 0
		}},
		{"no hold left open", func() bool { return w.count(ctx, `SELECT count(*) FROM ledger.holds WHERE status = 'placed'`) == 0 }},
		{"every answer recorded", func() bool { return w.count(ctx, `SELECT count(*) FROM survey.responses`) == answers }},
		{"every answer's bonus booked", func() bool {
			return w.count(ctx, `SELECT count(*) FROM ledger.transactions WHERE kind = 'credit' AND idempotency_key LIKE 'survey:%'`) == answers
		}},
		{"every detractor and promoter has its case", func() bool {
			return w.count(ctx, `SELECT count(*) FROM survey.responses r WHERE r.nps_class <> 'PASSIVE'
				AND NOT EXISTS (SELECT 1 FROM feedback.cases c WHERE c.response_id::text = r.id::text)`) == 0
		}},
		{"every outbox published", func() bool {
			for _, s := range stack.Services {
				if w.count(ctx, `SELECT count(*) FROM `+s+`.outbox`) != 0 {
					return false
				}
			}
			return true
		}},
	}
	deadline := time.Now().Add(3 * time.Minute)
	for _, c := range conds {
		for !c.ok() {
			if time.Now().After(deadline) {
				t.Fatalf("not drained within 3 minutes: %s is not so", c.what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return time.Since(start)
}

// check asserts exactly-once effects of the load.
func check(t *testing.T, ctx context.Context, w *world, l *load, killedAt time.Time) {
	t.Helper()
	// Points: per member, the purchases' points credited once by the journal.
	rows, err := w.db.Query(ctx, `
		SELECT p.member_id::text, sum(p.points)::bigint, count(*), coalesce(sum(c.credited), 0)::bigint
		FROM ledger.purchases p
		LEFT JOIN (SELECT transaction_id, sum(amount) AS credited FROM ledger.postings GROUP BY transaction_id) c
		  ON c.transaction_id = p.ledger_tx_id
		GROUP BY p.member_id`)
	if err != nil {
		t.Fatal(err)
	}
	booked := map[string]int64{}
	var lost, doubled int64
	for rows.Next() {
		var m string
		var points, n, credited int64
		if err := rows.Scan(&m, &points, &n, &credited); err != nil {
			t.Fatal(err)
		}
		booked[m] = points
		if credited != points {
			t.Errorf("member %s: purchases record %d points, the journal credited %d", m, points, credited)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for m, want := range l.points {
		switch got := booked[m]; {
		case got < want:
			lost += want - got
		case got > want:
			doubled += got - want
		}
	}
	for m, got := range booked {
		if _, ok := l.points[m]; !ok {
			doubled += got
		}
	}
	t.Logf("points: %d members, %d points published; lost %d, doubled %d", len(l.points), sumPoints(l.points), lost, doubled)
	if lost != 0 || doubled != 0 {
		t.Errorf("%d points lost, %d credited twice", lost, doubled)
	}
	if n := w.count(ctx, `SELECT count(*) FROM ledger.transactions WHERE kind = 'credit' AND idempotency_key NOT LIKE 'survey:%'`); n != int64(len(l.acked)) {
		t.Errorf("%d purchase credits in the journal for %d purchases", n, len(l.acked))
	}

	// Returns: each took back its points once, as far as the member still had them (the
	// rest is its shortfall).
	debited := map[string]int64{}
	takenBack := map[string]int64{}
	rows, err = w.db.Query(ctx, `SELECT member_id::text, sum(debited)::bigint, sum(points)::bigint, sum(debited + shortfall)::bigint
		FROM ledger.returns GROUP BY member_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m string
		var d, points, total int64
		if err := rows.Scan(&m, &d, &points, &total); err != nil {
			t.Fatal(err)
		}
		debited[m], takenBack[m] = d, total
		if points != total {
			t.Errorf("member %s: returns call for %d points, debited plus shortfall %d", m, points, total)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for m, want := range l.returned {
		if takenBack[m] != want {
			t.Errorf("member %s: returns took back %d points, want %d", m, takenBack[m], want)
		}
	}
	t.Logf("returns: %d, %d booked before their purchase was seen, %d points short",
		l.returns, w.count(ctx, `SELECT count(*) FROM ledger.returns WHERE orphan`),
		w.count(ctx, `SELECT coalesce(sum(shortfall), 0) FROM ledger.returns`))

	// Redemptions: what each caller was told is what happened, and each hold closed the
	// matching way.
	type redemption struct{ status, hold string }
	got := map[string]redemption{}
	rows, err = w.db.Query(ctx, `
		SELECT r.idempotency_key, r.status, coalesce(h.status, '')
		FROM rewards.redemptions r LEFT JOIN ledger.holds h ON h.reference = 'redemption:' || r.redemption_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var r redemption
		if err := rows.Scan(&k, &r.status, &r.hold); err != nil {
			t.Fatal(err)
		}
		// Stored as <caller>/<key>: idempotency keys are the caller's own.
		_, k, _ = strings.Cut(k, "/")
		got[k] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var completed, cancelled int
	captured := map[string]int64{}
	for k, ok := range l.redeemed {
		r := got[k]
		switch {
		case ok && r.status == "completed" && r.hold == "captured":
			completed++
			captured[l.redeemOf[k]] += rewardPrice
		case !ok && r.status == "cancelled" && (r.hold == "" || r.hold == "voided" || r.hold == "expired"):
			cancelled++
		default:
			t.Errorf("redemption %s: the caller was told completed=%v; it is %s with its hold %q", k, ok, r.status, r.hold)
		}
	}
	if len(got) != len(l.redeemed) {
		t.Errorf("%d redemptions recorded for %d requested", len(got), len(l.redeemed))
	}
	var holds []string
	if err := w.db.QueryRow(ctx, `SELECT coalesce(array_agg(status || ':' || n ORDER BY status), '{}') FROM
		(SELECT status, count(*) AS n FROM ledger.holds GROUP BY status) s`).Scan(&holds); err != nil {
		t.Fatal(err)
	}
	t.Logf("redemptions: %d completed, %d refused; holds %s", completed, cancelled, strings.Join(holds, " "))

	// Balances: what each member earned, answered for and spent; nothing held.
	for _, m := range l.members {
		want := l.points[m] + int64(surveyBonus*l.answers[m]) - captured[m] - debited[m]
		var total, held int64
		if err := w.db.QueryRow(ctx, `
			SELECT coalesce(sum(balance), 0)::bigint, coalesce(sum(balance) FILTER (WHERE account LIKE '%:hold'), 0)::bigint
			FROM ledger.account_balances WHERE account LIKE 'member:' || $1 || '%'`, m).Scan(&total, &held); err != nil {
			t.Fatal(err)
		}
		if total != want || held != 0 {
			t.Errorf("member %s holds %d points (%d held), want %d: %d earned, %d answers, %d redeemed, %d returned",
				m, total, held, want, l.points[m], l.answers[m], captured[m], debited[m])
		}
	}
	if n := w.count(ctx, `SELECT coalesce(sum(balance), 0) FROM ledger.account_balances`); n != 0 {
		t.Errorf("the ledger's balances sum to %d, want 0", n)
	}

	// Cases: one per detractor or promoter answer, none for a passive one.
	if n := w.count(ctx, `SELECT count(*) FROM feedback.cases c WHERE NOT EXISTS
		(SELECT 1 FROM survey.responses r WHERE r.id::text = c.response_id::text AND r.nps_class <> 'PASSIVE')`); n != 0 {
		t.Errorf("%d cases without a detractor's or promoter's answer", n)
	}
	cases := w.count(ctx, `SELECT count(*) FROM feedback.cases`)
	t.Logf("survey: %d answers, %d cases", sumInts(l.answers), cases)

	// Dead letters: none anywhere.
	for _, s := range stack.Services {
		var letters []string
		if err := w.db.QueryRow(ctx, `SELECT coalesce(array_agg(consumer || ': ' || left(error, 200)), '{}') FROM `+s+`.dead_letters`).
			Scan(&letters); err != nil {
			t.Fatal(err)
		}
		if len(letters) > 0 {
			t.Errorf("%s has %d dead letters: %v", s, len(letters), letters)
		}
	}

	// Recovery: how long purchases took from the till's ack to the ledger's commit,
	// before and after the kills.
	rows, err = w.db.Query(ctx, `SELECT store_id || '/' || transaction_id, recorded_at FROM ledger.purchases`)
	if err != nil {
		t.Fatal(err)
	}
	var beforeKill, afterKill []time.Duration
	var firstAfter time.Time
	for rows.Next() {
		var k string
		var at time.Time
		if err := rows.Scan(&k, &at); err != nil {
			t.Fatal(err)
		}
		acked := l.acked[k]
		if acked.Before(killedAt) {
			beforeKill = append(beforeKill, at.Sub(acked))
		} else {
			afterKill = append(afterKill, at.Sub(acked))
			if firstAfter.IsZero() || at.Before(firstAfter) {
				firstAfter = at
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("till ack to ledger commit: before the kills %s; after %s", percentiles(beforeKill), percentiles(afterKill))
	t.Logf("the first purchase published after the kills was credited %v after them", firstAfter.Sub(killedAt).Round(time.Millisecond))
}

func sumPoints(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func percentiles(d []time.Duration) string {
	if len(d) == 0 {
		return "none"
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	p := func(q int) time.Duration { return d[min(len(d)-1, len(d)*q/100)].Round(time.Millisecond) }
	return fmt.Sprintf("p50 %v p99 %v max %v (%d)", p(50), p(99), d[len(d)-1].Round(time.Millisecond), len(d))
}
