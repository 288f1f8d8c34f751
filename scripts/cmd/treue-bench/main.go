// Command treue-bench is `make bench`: it starts the whole system as separate processes
// on a fresh database and namespace, publishes purchases as fast as a POS fleet could,
// and reports end-to-end purchases per second until every point is posted exactly once,
// the latency of Redeem and RedeemCoupon under concurrent callers, each service's peak
// resident memory, the product's rate as a share of a bare JetStream-to-Postgres pipe, and
// how fast survey invitations are scheduled and sent by email (to an SMTP catcher in this
// process), and how fast survey responses are routed to cases and those announced by
// webhook (to a receiver in this process).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/cpustat"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/scripts/internal/possim"
	"github.com/treue/treue/scripts/internal/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "treue-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	purchases, members, callers, calls, publishers, poison, rules, invitations, responses int
	tiers                                                                                 bool
}

func run(ctx context.Context) error {
	var o options
	flag.IntVar(&o.purchases, "purchases", 100_000, "purchases to publish")
	flag.IntVar(&o.members, "members", 1_000, "members the purchases are spread over")
	flag.IntVar(&o.callers, "callers", 50, "concurrent Redeem / RedeemCoupon callers")
	flag.IntVar(&o.calls, "calls", 2_000, "Redeem calls (and as many RedeemCoupon calls; 0 skips them)")
	flag.IntVar(&o.publishers, "publishers", 4, "concurrent POS publishers")
	flag.BoolVar(&o.tiers, "tiers", true, "tiers defined (every batch keeps the qualifying figures)")
	flag.IntVar(&o.rules, "rules", 50, "active earning rules (10 of them match every basket; 0 measures the ledger without rules)")
	flag.IntVar(&o.poison, "poison", 1_000, "poison events interleaved with healthy purchases in the lag run (0 skips it)")
	flag.IntVar(&o.invitations, "invitations", 2_000, "service calls whose survey invitations are scheduled and sent by email to an SMTP catcher (0 skips it)")
	flag.IntVar(&o.responses, "responses", 20_000, "survey responses routed by the feedback service, their cases announced by webhook to a receiver (0 skips it)")
	logLevel := flag.String("service-log-level", "warn", "LOG_LEVEL of the services (debug logs every batch)")
	flag.Parse()

	root, err := os.Getwd()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	suffix := randomHex(4)
	fmt.Printf("treue-bench: %d purchases for %d members, %d callers\n", o.purchases, o.members, o.callers)
	surveys, surveyEnv, err := startSurveyBench()
	if err != nil {
		return err
	}
	defer surveys.close()
	feedback, feedbackEnv, err := startFeedbackBench()
	if err != nil {
		return err
	}
	defer feedback.close()
	s, err := stack.Up(ctx, stack.Options{
		Root: root, DataDir: filepath.Join(root, ".run", "bench"), Database: "treue_bench_" + suffix,
		Namespace: "bench" + suffix + "_", Log: log,
		// Points spendable at once (no return window), so that Redeem has points to spend;
		// lots and their expiry are kept as in production.
		Env: slices.Concat([]string{"LOG_LEVEL=" + *logLevel, "LEDGER_RETURN_WINDOW=0"}, surveyEnv, feedbackEnv),
	})
	if err != nil {
		return err
	}
	defer func() {
		s.Down()
		_ = stack.DropDatabase(context.WithoutCancel(ctx), s.DatabaseURL)
	}()
	nc, err := nats.Connect(s.NATSURL, nats.Name("treue-bench"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, s.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()

	// Tiers before the members enrol, so that they start in the base tier.
	tier := "standard"
	if o.tiers {
		if err := seedTiers(ctx, s); err != nil {
			return err
		}
		tier = "bronze"
	}
	members, err := enrol(ctx, s, o.members)
	if err != nil {
		return err
	}
	if err := seedRules(ctx, s, o.rules, tier); err != nil {
		return err
	}
	msgs, ids, subjects, expected := makePurchases(o.purchases, members, o.rules)
	ns := bus.Namespace(s.Namespace)

	// The bare pipe first, on the same NATS and Postgres, with the same messages.
	bareBefore := cpuSnapshot(ctx, s, pool)
	bare, err := barePipe(ctx, js, pool, ns, msgs, func() error {
		return publishFleet(ctx, s.NATSURL, o.publishers, ns.Subject("bare."), subjects, msgs, ids)
	})
	if err != nil {
		return fmt.Errorf("bare pipe: %w", err)
	}
	fmt.Printf("  bare pipe (JetStream -> batched idempotent inserts): %8.0f events/s\n", bare)
	cpuSnapshot(ctx, s, pool).print(bareBefore, o.purchases, "the bare pipe")

	cpuBefore := cpuSnapshot(ctx, s, pool)
	start := time.Now()
	if err := publishFleet(ctx, s.NATSURL, o.publishers, ns.Subject(""), subjects, msgs, ids); err != nil {
		return err
	}
	published := time.Since(start)
	if err := waitPosted(ctx, js, ns, pool, expected); err != nil {
		return err
	}
	e2e := time.Since(start)
	rate := float64(o.purchases) / e2e.Seconds()
	fmt.Printf("  published %d purchases in %v (%.0f/s)\n", o.purchases, published.Round(time.Millisecond), float64(o.purchases)/published.Seconds())
	fmt.Printf("  end to end, every point posted exactly once:        %8.0f purchases/s (%v; %.0f%% of the bare pipe)\n",
		rate, e2e.Round(time.Millisecond), 100*rate/bare)
	if o.rules > 0 {
		fmt.Printf("  with %d active earning rules (%d matching each basket): %.0f rule evaluations/s\n",
			o.rules, min(o.rules, matchingRules), rate*float64(o.rules))
	}
	if err := waitReported(ctx, s, expected); err != nil {
		return err
	}
	fmt.Printf("  reporting caught up (points issued = %d) after %v\n", expected, time.Since(start).Round(time.Millisecond))
	cpuSnapshot(ctx, s, pool).print(cpuBefore, o.purchases, "the system, until reporting caught up")
	// The survey evaluates every purchase against its trigger rules and contact policy;
	// after each member's first invitation the rest are held back by the frequency cap,
	// each recorded with its reason.
	if err := waitConsumed(ctx, js, ns, "survey-pos"); err != nil {
		return err
	}
	var suppressed int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM survey.suppressions`).Scan(&suppressed); err != nil {
		return err
	}
	fmt.Printf("  survey caught up (every purchase through the trigger rules; %d held back and recorded) after %v\n",
		suppressed, time.Since(start).Round(time.Millisecond))

	if o.poison > 0 {
		lags, err := poisonLag(ctx, js, ns, members, 2*o.poison, o.poison, 500)
		if err != nil {
			return fmt.Errorf("poison run: %w", err)
		}
		fmt.Printf("  lag of %d healthy purchases among %d poison events at 500/s: p50 %v  p99 %v\n",
			len(lags), o.poison, lags.p(50), lags.p(99))
	}

	if o.calls > 0 {
		redeem, coupons, err := redeemLatency(ctx, s, members, o)
		if err != nil {
			return err
		}
		fmt.Printf("  Redeem        at %d callers: p50 %v  p99 %v  (%d calls)\n", o.callers, redeem.p(50), redeem.p(99), len(redeem))
		fmt.Printf("  RedeemCoupon  at %d callers: p50 %v  p99 %v  (%d calls)\n", o.callers, coupons.p(50), coupons.p(99), len(coupons))
	}

	if o.invitations > 0 {
		if err := surveys.run(ctx, js, ns, pool, o.invitations); err != nil {
			return err
		}
	}
	if o.responses > 0 {
		if err := feedback.run(ctx, s, js, ns, pool, members, o.responses); err != nil {
			return err
		}
	}

	rss := s.PeakRSS()
	names := make([]string, 0, len(rss))
	for n := range rss {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Println("  peak resident memory:")
	for _, n := range names {
		fmt.Printf("    %-10s %6.1f MiB\n", n, float64(rss[n])/(1<<20))
	}
	return nil
}

// cpuUse is the CPU time used so far by each service, this process (the embedded NATS
// server, when there is one, and the publishers) and the Postgres backends of the
// benchmark's database. Two cores give 2 s of CPU per second: what each part costs per
// purchase tells where the end-to-end rate goes.
type cpuUse struct {
	procs    map[string]time.Duration
	backends map[int]time.Duration
}

func cpuSnapshot(ctx context.Context, s *stack.Stack, pool *pgxpool.Pool) cpuUse {
	c := cpuUse{procs: s.CPU()}
	c.procs["bench (NATS, publishers)"] = cpustat.Process()
	c.backends, _ = cpustat.Backends(ctx, pool)
	return c
}

func (c cpuUse) print(before cpuUse, purchases int, what string) {
	c.printPer(before, purchases, "purchase", what)
}

// printPer prints the CPU used since before per one of n units.
func (c cpuUse) printPer(before cpuUse, n int, unit, what string) {
	names := make([]string, 0, len(c.procs))
	for n := range c.procs {
		names = append(names, n)
	}
	sort.Strings(names)
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	var total time.Duration
	fmt.Printf("  CPU per %s, %s:\n", unit, what)
	for _, n := range names {
		d := c.procs[n] - before.procs[n]
		total += d
		if per(d) < 1 {
			continue
		}
		fmt.Printf("    %-26s %7.1f µs\n", n, per(d))
	}
	if c.backends != nil && before.backends != nil {
		d := cpustat.Since(before.backends, c.backends)
		total += d
		fmt.Printf("    %-26s %7.1f µs\n", "postgres backends", per(d))
	}
	fmt.Printf("    %-26s %7.1f µs\n", "total", per(total))
}

func enrol(ctx context.Context, s *stack.Stack, n int) ([]string, error) {
	conn, err := s.Conn("ledger", "admin")
	if err != nil {
		return nil, err
	}
	ledger := ledgerv1.NewLedgerServiceClient(conn)
	members := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				resp, err := ledger.Enroll(ctx, &ledgerv1.EnrollRequest{
					IdempotencyKey: fmt.Sprintf("bench-member-%08d", i), DisplayName: fmt.Sprintf("Member %d", i),
					Email: fmt.Sprintf("m%d@bench.example", i), SurveyConsent: true,
				})
				if err != nil {
					errs <- err
					return
				}
				members[i] = resp.Member.MemberId
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, fmt.Errorf("enrol: %w", err)
	default:
	}
	return members, nil
}

// makePurchases marshals the purchases up front, so that publishing measures the bus and
// not protobuf; it returns the points they must credit at the default rate (1 point per
// currency unit).
// makePurchases returns n purchases of the members: their encodings, event ids and
// subjects (each till publishes on its store's subject), and the points they earn.
func makePurchases(n int, members []string, rules int) ([][]byte, []string, []string, int64) {
	r := mrand.New(mrand.NewPCG(42, 42))
	stores := []string{"berlin-01", "hamburg-02", "munich-03", "web"}
	msgs := make([][]byte, n)
	ids := make([]string, n)
	subjects := make([]string, n)
	var points int64
	for i := range n {
		p := possim.Purchase(r, stores[i%len(stores)], members[r.IntN(len(members))])
		p.TransactionId = fmt.Sprintf("B%09d", i)
		b, _ := proto.Marshal(p)
		msgs[i], ids[i] = b, p.EventId
		subjects[i], _ = possim.Subject(p)
		points += p.TotalMinor/100 + rulePoints(p, rules)
	}
	return msgs, ids, subjects, points
}

// publishAll publishes msgs on prefix+subjects[i].
func publishAll(ctx context.Context, js jetstream.JetStream, prefix string, subjects []string, msgs [][]byte, ids []string) error {
	futures := make([]jetstream.PubAckFuture, 0, 4096)
	flush := func() error {
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		futures = futures[:0]
		return nil
	}
	for i, data := range msgs {
		m := &nats.Msg{Subject: prefix + subjects[i], Data: data, Header: nats.Header{}}
		m.Header.Set(bus.HeaderContentType, bus.ContentTypeProto)
		m.Header.Set(bus.HeaderEventType, "treue.pos.v1.PurchaseRecorded")
		f, err := js.PublishMsgAsync(m, jetstream.WithMsgID(ids[i]))
		if err != nil {
			return err
		}
		futures = append(futures, f)
		if len(futures) == cap(futures) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// publishFleet publishes from several connections at once, as many tills would.
func publishFleet(ctx context.Context, natsURL string, publishers int, prefix string, subjects []string, msgs [][]byte, ids []string) error {
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	per := (len(msgs) + publishers - 1) / publishers
	for w := range publishers {
		lo, hi := w*per, min((w+1)*per, len(msgs))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := nats.Connect(natsURL, nats.Name(fmt.Sprintf("bench-pos-%d", w)))
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
			if err != nil {
				errs <- err
				return
			}
			if err := publishAll(ctx, js, prefix, subjects[lo:hi], msgs[lo:hi], ids[lo:hi]); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// waitPosted waits until the ledger's POS consumer has acked every purchase (it acks
// after the commit), then checks that the ledger credited exactly the expected points.
// Progress is read from JetStream, not Postgres, so that watching costs the database
// nothing.
func waitPosted(ctx context.Context, js jetstream.JetStream, ns bus.Namespace, pool *pgxpool.Pool, expected int64) error {
	if err := waitConsumed(ctx, js, ns, "ledger-pos"); err != nil {
		return err
	}
	var posted int64
	if err := pool.QueryRow(ctx, postedPointsQuery).Scan(&posted); err != nil {
		return fmt.Errorf("read posted points: %w", err)
	}
	if posted != expected {
		return fmt.Errorf("ledger posted %d points, want exactly %d", posted, expected)
	}
	return nil
}

// waitConsumed waits until a durable consumer of the POS stream has acked every purchase
// (consumers ack after their commit). Progress is read from JetStream, not Postgres, so
// that watching costs the database nothing.
func waitConsumed(ctx context.Context, js jetstream.JetStream, ns bus.Namespace, consumer string) error {
	streamName := ns.Stream(bus.MustSpec(&posv1.PurchaseRecorded{}).Stream.Name)
	stream, err := js.Stream(ctx, streamName)
	if err != nil {
		return err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return err
	}
	last := info.State.LastSeq
	cons, err := js.Consumer(ctx, streamName, ns.Consumer(consumer))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		ci, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if ci.AckFloor.Stream >= last && ci.NumAckPending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s acked %d of %d purchases within 10 minutes", consumer, ci.AckFloor.Stream, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitReported(ctx context.Context, s *stack.Stack, expected int64) error {
	conn, err := s.Conn("reporting", "auditor")
	if err != nil {
		return err
	}
	rep := reportingv1.NewReportingServiceClient(conn)
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := rep.GetPointsSummary(ctx, &reportingv1.GetPointsSummaryRequest{})
		if err != nil {
			return err
		}
		if resp.Issued == expected {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("reporting did not catch up within 5 minutes")
}

type latencies []time.Duration

func (l latencies) p(q int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := append(latencies(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*q/100)].Round(10 * time.Microsecond)
}

// redeemLatency redeems a 1-point coupon reward o.calls times from o.callers goroutines,
// then uses every coupon at a till, and returns both calls' latencies.
func redeemLatency(ctx context.Context, s *stack.Stack, members []string, o options) (latencies, latencies, error) {
	admin, err := s.Conn("rewards", "admin")
	if err != nil {
		return nil, nil, err
	}
	rewards := rewardsv1.NewRewardsServiceClient(admin)
	reward, err := rewards.CreateReward(ctx, &rewardsv1.CreateRewardRequest{
		Name: "Bench coupon", Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON, PointsPrice: 1, ValueMinor: 100, Currency: "EUR",
	})
	if err != nil {
		return nil, nil, err
	}
	codes := make([]string, o.calls)
	redeem, err := concurrently(o.callers, o.calls, func(i int) error {
		resp, err := rewards.Redeem(ctx, &rewardsv1.RedeemRequest{
			IdempotencyKey: fmt.Sprintf("bench-redeem-%08d", i), MemberId: members[i%len(members)], RewardId: reward.Reward.RewardId,
		})
		if err != nil {
			return fmt.Errorf("redeem: %w", err)
		}
		codes[i] = resp.CouponCode
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	pos, err := s.Conn("rewards", "pos")
	if err != nil {
		return nil, nil, err
	}
	till := rewardsv1.NewRewardsServiceClient(pos)
	coupons, err := concurrently(o.callers, o.calls, func(i int) error {
		_, err := till.RedeemCoupon(ctx, &rewardsv1.RedeemCouponRequest{
			Code: codes[i], TerminalId: fmt.Sprintf("till-%d", i), StoreId: "berlin-01",
		})
		if err != nil {
			return fmt.Errorf("redeem coupon: %w", err)
		}
		return nil
	})
	return redeem, coupons, err
}

func concurrently(workers, n int, call func(i int) error) (latencies, error) {
	lat := make(latencies, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || firstErr.Load() != nil {
					return
				}
				t := time.Now()
				if err := call(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return nil, err
	}
	return lat, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
