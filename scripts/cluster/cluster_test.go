//go:build linux

// Package cluster proves scale-out on loopback: a three-node JetStream cluster with
// replicated streams, two replicas of every service on one Postgres, purchases,
// enrolments, redemptions and survey answers flowing, and one replica of every service
// and one NATS node killed on the way.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/devstack"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/scripts/internal/possim"
	"github.com/treue/treue/scripts/internal/stack"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		runRole(role)
	}
	testkit.Main(m)
}

const (
	rewardPrice = 10 // points
	surveyBonus = 50 // points per answer (LEDGER_SURVEY_BONUS_POINTS)
	replicas    = 2
)

// world is the running system.
type world struct {
	dir      string
	nodes    []devstack.ClusterNode
	natsProc []*proc
	natsURL  string
	dsn      string
	db       *pgxpool.Pool
	// procs and addrs by service, replica.
	procs map[string][]*proc
	addrs map[string][]string
	keys  map[string]string
}

func startWorld(t *testing.T, ctx context.Context) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), procs: map[string][]*proc{}, addrs: map[string][]string{}, keys: map[string]string{}}

	// Three NATS nodes, each its own process so that one can be killed for real.
	const n = 3
	client, cluster := make([]int, n), make([]int, n)
	for i := range n {
		client[i], cluster[i] = freePort(t), freePort(t)
	}
	urls := make([]string, n)
	for i := range n {
		node := devstack.ClusterNode{Name: "n" + strconv.Itoa(i+1), Cluster: "treue-test", ClientPort: client[i], ClusterPort: cluster[i],
			StoreDir: filepath.Join(w.dir, "nats-"+strconv.Itoa(i+1))}
		for j := range n {
			if j != i {
				node.Peers = append(node.Peers, cluster[j])
			}
		}
		w.nodes = append(w.nodes, node)
		w.natsProc = append(w.natsProc, startProc(t, w.dir, node.Name, "nats", node.Env(natsPrefix)))
		urls[i] = node.URL()
	}
	// Every URL: nats.go picks one and fails over to the others.
	w.natsURL = strings.Join(urls, ",")
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := devstack.WaitJetStream(wctx, w.natsURL); err != nil {
		for _, p := range w.natsProc {
			t.Log(p.name + ":\n" + p.tail(20))
		}
		t.Fatal(err)
	}

	w.dsn = testkit.Database(t)
	var err error
	if w.db, err = pgxpool.New(ctx, w.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.db.Close)

	callers := testkit.RoleCallers()
	for _, c := range callers {
		w.keys[c.Role] = c.Key
	}
	for _, name := range stack.Services {
		for range replicas {
			w.addrs[name] = append(w.addrs[name], "127.0.0.1:"+strconv.Itoa(freePort(t)))
		}
	}
	ledgerLB := newBalancer(t, w.addrs["ledger"]...)
	codeKey := make([]byte, 32)
	_, _ = rand.Read(codeKey)
	common := []string{
		"DATABASE_URL=" + w.dsn,
		"NATS_URL=" + w.natsURL,
		"TREUE_NAMESPACE=",
		"STREAM_REPLICAS=3",
		"API_KEYS=" + testkit.APIKeys(callers),
		"SERVICE_API_KEY=" + w.keys["service"],
		"LOG_LEVEL=info",
		"LEDGER_SURVEY_BONUS_POINTS=" + strconv.Itoa(surveyBonus),
		"LEDGER_HOLD_EXPIRY_INTERVAL=1s",
		"REWARDS_LEDGER_ADDR=" + ledgerLB.addr(),
		"REWARDS_LEDGER_TIMEOUT=3s",
		"REWARDS_CODE_KEY=" + hex.EncodeToString(codeKey),
		// A redemption its replica abandoned (killed mid-Redeem) is settled by the other
		// after 2 s instead of 2 min.
		"REWARDS_SETTLE_AFTER=2s",
		"REWARDS_SWEEP_INTERVAL=250ms",
		"SURVEY_TOKEN_SECRET=" + strings.Repeat("k", 40),
		"SURVEY_PUBLIC_URL=http://127.0.0.1:1",
	}
	// Postgres may allow only 100 connections and other tests run beside this one.
	pools := map[string]int{"ledger": 4, "rewards": 4, "survey": 3, "feedback": 3, "reporting": 3}
	for _, name := range stack.Services {
		up := strings.ToUpper(name)
		for r := range replicas {
			env := append(append([]string(nil), common...),
				up+"_GRPC_ADDR="+w.addrs[name][r],
				up+"_HTTP_ADDR=127.0.0.1:0",
				up+"_ADMIN_ADDR=127.0.0.1:0",
				up+"_DB_MAX_CONNS="+strconv.Itoa(pools[name]))
			w.procs[name] = append(w.procs[name], startProc(t, w.dir, fmt.Sprintf("%s-%d", name, r+1), name, env))
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for _, name := range stack.Services {
		for r, p := range w.procs[name] {
			if err := waitServing(sctx, p, w.addrs[name][r]); err != nil {
				for _, n := range w.natsProc {
					t.Logf("%s log:\n%s", n.name, n.tail(40))
				}
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range stack.Services {
				for _, p := range w.procs[name] {
					t.Logf("%s log:\n%s", p.name, p.tail(15))
				}
			}
		}
	})
	return w
}

// clients round-robins a service's replicas.
type clients[C any] struct {
	all  []C
	next atomic.Uint64
}

func (c *clients[C]) pick() C { return c.all[int(c.next.Add(1))%len(c.all)] }

func dialAll[C any](t *testing.T, w *world, service, role string, mk func(grpc.ClientConnInterface) C) *clients[C] {
	c := &clients[C]{}
	for _, addr := range w.addrs[service] {
		c.all = append(c.all, mk(testkit.Dial(t, addr, w.keys[role])))
	}
	return c
}

// retry calls f until it succeeds, returns an error that is final, or 60 s pass. A
// replica killed under a call answers Unavailable (or nothing): the next attempt goes to
// the other one.
func retry(ctx context.Context, final func(error) bool, f func(context.Context) error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := f(cctx)
		cancel()
		if err == nil || final(err) || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func failedPrecondition(err error) bool { return status.Code(err) == codes.FailedPrecondition }
func never(error) bool                  { return false }

// load is what the test sent and what it must find.
type load struct {
	mu sync.Mutex
	// members enrolled, in order.
	members []string
	// points by member from the published purchases.
	points map[string]int64
	// purchases acked by JetStream, with the time of the ack.
	acked map[string]time.Time // by transaction id
	// redemptions by idempotency key: true completed, false refused.
	redeemed map[string]bool
	redeemOf map[string]string // member by key
	// answered invitations, by member.
	answers map[string]int
	// returns acked, and the points they take back by member; returnPoints what each
	// return (by id) takes back: its line's share of the purchase's points.
	returns      int
	returned     map[string]int64
	returnPoints map[string]int64
	// publishing stalls: the longest gap between two acks around the kills.
	lastAck    time.Time
	longestGap time.Duration
	// killedAt is when the kills happened; resumedAt the first ack of an event a till
	// made after them.
	killedAt, resumedAt time.Time
}

func TestScaleOutSurvivesKills(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	begun := time.Now()
	w := startWorld(t, ctx)
	t.Logf("three NATS nodes, %d replicas of 5 services: up in %v", replicas, time.Since(begun).Round(time.Millisecond))

	ledgers := dialAll(t, w, "ledger", "admin", ledgerv1.NewLedgerServiceClient)
	rewardsAdmin := dialAll(t, w, "rewards", "admin", rewardsv1.NewRewardsServiceClient)
	rewardsSvc := dialAll(t, w, "rewards", "service", rewardsv1.NewRewardsServiceClient)
	surveys := dialAll(t, w, "survey", "service", surveyv1.NewSurveyServiceClient)

	l := &load{points: map[string]int64{}, acked: map[string]time.Time{}, redeemed: map[string]bool{},
		redeemOf: map[string]string{}, answers: map[string]int{}, returned: map[string]int64{}, returnPoints: map[string]int64{}}
	var enrolled atomic.Int64
	enrol := func(ctx context.Context) error {
		i := enrolled.Add(1)
		key := fmt.Sprintf("cluster-member-%05d", i)
		var id string
		err := retry(ctx, never, func(ctx context.Context) error {
			resp, err := ledgers.pick().Enroll(ctx, &ledgerv1.EnrollRequest{IdempotencyKey: key, DisplayName: key,
				Email: key + "@cluster.example", SurveyConsent: true})
			if err == nil {
				id = resp.GetMember().GetMemberId()
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("enrol %s: %w", key, err)
		}
		l.mu.Lock()
		l.members = append(l.members, id)
		l.mu.Unlock()
		return nil
	}
	for range 60 {
		if err := enrol(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var reward string
	if err := retry(ctx, never, func(ctx context.Context) error {
		resp, err := rewardsAdmin.pick().CreateReward(ctx, &rewardsv1.CreateRewardRequest{Name: "1 EUR off",
			Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON, PointsPrice: rewardPrice, ValueMinor: 100, Currency: "EUR", ValidDays: 30})
		if err == nil {
			reward = resp.GetReward().GetRewardId()
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// The load runs until stop closes; each worker reports its first error.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	worker := func(name string, f func(ctx context.Context, i int) error, pause time.Duration) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; loadCtx.Err() == nil; i++ {
				if err := f(loadCtx, i); err != nil {
					if loadCtx.Err() == nil {
						errs <- fmt.Errorf("%s: %w", name, err)
					}
					return
				}
				if pause > 0 {
					time.Sleep(pause)
				}
			}
		}()
	}
	member := func(r *mrand.Rand) string {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.members[r.IntN(len(l.members))]
	}

	// POS tills: each publishes a window of events asynchronously and waits for their
	// acks, and publishes again, with the same Nats-Msg-Id, those without one, as the POS
	// contract asks. Every eighth purchase is returned (its first line) in the till's next
	// window: the ledger replicas share the stream, so a return and its purchase may be
	// taken by different replicas.
	// Paced (a window every 100 ms at most): the test proves what the kills do, not how
	// fast one ledger replica books on a machine shared with the other tests.
	const tills, window = 2, 16
	var txSeq atomic.Int64
	type posEvent struct {
		msg      *nats.Msg
		purchase *posv1.PurchaseRecorded
		ret      *posv1.ReturnRecorded
		returnIt bool // in the next window
		made     time.Time
	}
	for k := range tills {
		js := jsOn(t, w.natsURL)
		till := possim.Till{JS: js}
		r := mrand.New(mrand.NewPCG(uint64(k), 7))
		stores := []string{"berlin-01", "hamburg-02", "munich-03", "web"}
		var returns []*posv1.ReturnRecorded
		worker(fmt.Sprintf("till %d", k), func(ctx context.Context, _ int) error {
			var todo []posEvent
			add := func(id string, m proto.Message, e posEvent) error {
				subject, err := possim.Subject(m)
				if err != nil {
					return err
				}
				e.made = time.Now()
				if e.msg, err = till.Msg(subject, id, m); err != nil {
					return err
				}
				todo = append(todo, e)
				return nil
			}
			for _, ret := range returns {
				if err := add(ret.EventId, ret, posEvent{ret: ret}); err != nil {
					return err
				}
			}
			returns = returns[:0]
			for len(todo) < window {
				p := possim.Purchase(r, stores[r.IntN(len(stores))], member(r))
				seq := txSeq.Add(1)
				p.TransactionId = fmt.Sprintf("C%08d", seq)
				if err := add(p.EventId, p, posEvent{purchase: p, returnIt: seq%8 == 0}); err != nil {
					return err
				}
			}
			// The events are the customers' whether or not the load stops meanwhile.
			deadline := time.Now().Add(time.Minute)
			for len(todo) > 0 {
				if time.Now().After(deadline) {
					return fmt.Errorf("%d POS events without an ack for a minute", len(todo))
				}
				futures := make([]jetstream.PubAckFuture, len(todo))
				for i, e := range todo {
					futures[i], _ = js.PublishMsgAsync(e.msg)
				}
				// One deadline for the window: a future whose server died never resolves.
				acks, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				var again []posEvent
				for i, f := range futures {
					ok := false
					if f != nil {
						select {
						case <-f.Ok():
							ok = true
						case <-f.Err():
						case <-acks.Done():
						}
					}
					if !ok {
						again = append(again, todo[i])
						continue
					}
					now := time.Now()
					e := todo[i]
					l.mu.Lock()
					if p := e.purchase; p != nil {
						l.points[p.MemberId] += p.TotalMinor / 100
						l.acked[p.StoreId+"/"+p.TransactionId] = now
						if e.returnIt {
							r := possim.Return(p)
							l.returnPoints[r.ReturnId] = lineShare(p, 0)
							returns = append(returns, r)
						}
					} else {
						l.returned[e.ret.MemberId] += l.returnPoints[e.ret.ReturnId]
						l.returns++
					}
					if !l.lastAck.IsZero() && now.Sub(l.lastAck) > l.longestGap {
						l.longestGap = now.Sub(l.lastAck)
					}
					l.lastAck = now
					if !l.killedAt.IsZero() && e.made.After(l.killedAt) && l.resumedAt.IsZero() {
						l.resumedAt = now
					}
					l.mu.Unlock()
				}
				cancel()
				todo = again
				if len(todo) > 0 {
					time.Sleep(100 * time.Millisecond)
				}
			}
			return nil
		}, 100*time.Millisecond)
	}
	// New members keep enrolling.
	worker("enrolment", func(ctx context.Context, _ int) error { return enrol(context.WithoutCancel(ctx)) }, 100*time.Millisecond)
	// Redemptions through either rewards replica, retried with the same key.
	for k := range 2 {
		r := mrand.New(mrand.NewPCG(uint64(k), 11))
		worker(fmt.Sprintf("redeemer %d", k), func(ctx context.Context, i int) error {
			key := fmt.Sprintf("cluster-redeem-%d-%05d", k, i)
			m := member(r)
			err := retry(context.WithoutCancel(ctx), failedPrecondition, func(ctx context.Context) error {
				_, err := rewardsSvc.pick().Redeem(ctx, &rewardsv1.RedeemRequest{IdempotencyKey: key, MemberId: m, RewardId: reward})
				return err
			})
			if err != nil && !failedPrecondition(err) {
				return fmt.Errorf("redeem %s: %w", key, err)
			}
			l.mu.Lock()
			l.redeemed[key] = err == nil
			l.redeemOf[key] = m
			l.mu.Unlock()
			return nil
		}, 30*time.Millisecond)
	}
	// Members answer their invitations: every score, so both kinds of case open.
	{
		r := mrand.New(mrand.NewPCG(3, 13))
		answered := map[string]bool{}
		worker("respondent", func(ctx context.Context, i int) error {
			m := member(r)
			var invs []*surveyv1.Invitation
			if err := retry(ctx, never, func(ctx context.Context) error {
				resp, err := surveys.pick().ListInvitations(ctx, &surveyv1.ListInvitationsRequest{MemberId: m})
				invs = resp.GetInvitations()
				return err
			}); err != nil {
				return nil // the load stopped
			}
			for _, inv := range invs {
				if answered[inv.GetInvitationId()] || inv.GetAnswered() {
					continue
				}
				// Only a scheduled or sent invitation can be answered: a purchase returned
				// before its invitation went out suppressed it.
				if st := inv.GetStatus(); st != surveyv1.InvitationStatus_INVITATION_STATUS_SCHEDULED &&
					st != surveyv1.InvitationStatus_INVITATION_STATUS_SENT {
					continue
				}
				token := inv.GetUrl()[strings.LastIndex(inv.GetUrl(), "/")+1:]
				tries := 0
				err := retry(context.WithoutCancel(ctx), failedPrecondition, func(ctx context.Context) error {
					tries++
					_, err := surveys.pick().SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Score: int32(i % 11), Comment: "cluster"})
					return err
				})
				switch {
				case err == nil:
				case tries > 1 && grpcx.Reason(err) == "ALREADY_ANSWERED":
					// Already answered after a retry: an earlier attempt was recorded.
				case failedPrecondition(err) && grpcx.Reason(err) != "ALREADY_ANSWERED":
					// Not answerable (yet, or any more: returned meanwhile, say): a later
					// round looks again.
					continue
				default:
					return fmt.Errorf("answer %s: %w", inv.GetInvitationId(), err)
				}
				answered[inv.GetInvitationId()] = true
				l.mu.Lock()
				l.answers[m]++
				l.mu.Unlock()
			}
			return nil
		}, 20*time.Millisecond)
	}

	loadStart := time.Now()
	const before, after = 5 * time.Second, 10 * time.Second
	time.Sleep(before)

	// The kills: the replica 1 of ledger, survey, feedback and reporting, the replica 2 of
	// rewards (so that a surviving rewards replica loses the ledger replica it was
	// talking to), and the NATS node leading the POS stream.
	js := jsOn(t, w.natsURL)
	posStream := bus.MustSpec(&posv1.PurchaseRecorded{}).Stream.Name
	victim := streamLeader(t, ctx, js, posStream)
	killedAt := time.Now()
	l.mu.Lock()
	l.killedAt = killedAt
	l.mu.Unlock()
	for i, nd := range w.nodes {
		if nd.Name == victim {
			w.natsProc[i].kill()
		}
	}
	for _, name := range stack.Services {
		r := 0
		if name == "rewards" {
			r = 1
		}
		w.procs[name][r].kill()
	}
	l.mu.Lock()
	ackedAtKill := len(l.acked)
	l.mu.Unlock()
	t.Logf("killed NATS node %s (leader of the POS stream) and one replica of every service, after %d purchases",
		victim, ackedAtKill)

	time.Sleep(after)
	stopLoad()
	wg.Wait()
	loadTook := time.Since(loadStart)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for _, name := range stack.Services {
		for _, p := range w.procs[name] {
			if p.exited() && p.cmd.ProcessState != nil && p.cmd.ProcessState.String() != "signal: killed" {
				t.Errorf("%s exited on its own (%s):\n%s", p.name, p.cmd.ProcessState, p.tail(20))
			}
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	published := len(l.acked)
	t.Logf("load for %v: %d purchases (%.0f/s), %d members, %d redemptions, %d answers",
		loadTook.Round(time.Millisecond), published, float64(published)/loadTook.Seconds(), len(l.members), len(l.redeemed),
		sumInts(l.answers))
	if l.resumedAt.IsZero() {
		t.Fatalf("no event made after the kills was acked")
	}
	t.Logf("the first event made after the kills was acked %v after them; longest pause between publish acks %v",
		l.resumedAt.Sub(killedAt).Round(time.Millisecond), l.longestGap.Round(time.Millisecond))

	// Drain: every purchase booked, every redemption settled, every hold closed.
	drained := waitDrained(t, ctx, w, l)
	t.Logf("drained %v after the load stopped; end to end %.0f purchases/s", drained.Round(time.Millisecond),
		float64(published)/(loadTook+drained).Seconds())
	check(t, ctx, w, l, killedAt)
}

// lineShare is what line i of p earned, as the programme's rounding documents it: the
// basket's points (1 per EUR, floored once) spread over its lines in proportion to their
// amounts, floored, the rest one point at a time to the largest remainders (the earliest
// line on a tie). Returning the whole line takes back that share.
func lineShare(p *posv1.PurchaseRecorded, i int) int64 {
	total := p.TotalMinor / 100
	var sum int64
	for _, l := range p.Lines {
		sum += l.AmountMinor
	}
	if sum == 0 || total == 0 {
		return 0
	}
	shares := make([]int64, len(p.Lines))
	rems := make([]int64, len(p.Lines))
	given := int64(0)
	for j, l := range p.Lines {
		shares[j], rems[j] = l.AmountMinor*total/sum, l.AmountMinor*total%sum
		given += shares[j]
	}
	for ; given < total; given++ {
		best := 0
		for j := range rems {
			if rems[j] > rems[best] {
				best = j
			}
		}
		shares[best]++
		rems[best] = -1
	}
	return shares[i]
}
