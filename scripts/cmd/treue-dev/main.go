// Command treue-dev is `make run`: the whole system on one machine with demo traffic.
// It uses NATS at NATS_URL or starts an embedded JetStream server, Postgres at
// DATABASE_URL (or 127.0.0.1:5432) or a throwaway cluster, starts the five services,
// plays the demo, prints where to look, and stops everything on Ctrl-C. With -clean
// (`make clean`) it drops the dev database and removes the data folder instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/telemetry"
	"github.com/treue/treue/scripts/internal/demo"
	"github.com/treue/treue/scripts/internal/natsconf"
	"github.com/treue/treue/scripts/internal/stack"
)

func main() {
	dataDir := flag.String("data", ".run", "where a throwaway Postgres, the NATS store, the logs and the dev secrets live")
	natsPort := flag.Int("nats-port", 4333, "port of the embedded NATS server when NATS_URL is unset")
	once := flag.Bool("once", false, "play the demo, print the summary and stop (for scripts and CI)")
	clean := flag.Bool("clean", false, "drop the dev database and remove the data folder (`make clean`)")
	flag.Parse()

	// Before anything else: a Ctrl-C from here on must reach this process alone.
	giveBack := takeTerminal()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := func() error {
		root, err := repoRoot()
		if err != nil {
			return err
		}
		dir, err := filepath.Abs(filepath.Join(root, *dataDir))
		if err != nil {
			return err
		}
		if *clean {
			return cleanUp(ctx, dir, devDatabase, os.Stdout)
		}
		return run(ctx, root, dir, *natsPort, *once)
	}()
	interrupted := ctx.Err() != nil // before stop, which cancels ctx too
	stop()
	status := 0
	switch {
	case err != nil && interrupted:
		// Ctrl-C during start-up is a stop the user asked for, not a failure.
		fmt.Println("Treue: interrupted.")
	case err != nil:
		fmt.Fprintln(os.Stderr, "treue-dev:", err)
		status = 1
	}
	giveBack()
	os.Exit(status)
}

// devDatabase is the database `make run` keeps the five schemas in, and `make clean` drops.
const devDatabase = "treue"

func run(ctx context.Context, root, dir string, natsPort int, once bool) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	release, err := markRunning(dir)
	if err != nil {
		return err
	}
	defer release()
	if u := os.Getenv("NATS_URL"); ownStaleNATSURL(u, natsPort) {
		// Left in the shell by a dev.env that exported it: this runner's own embedded
		// server of an earlier run, which stopped with it. Start it again.
		log.Warn("NATS_URL names the embedded server of an earlier run; starting it again (`unset NATS_URL` to silence this)", "url", u)
		os.Unsetenv("NATS_URL")
	}
	traces, stopTracing, err := traceLog(ctx, dir)
	if err != nil {
		return err
	}
	defer stopTracing()
	mail := startDemoMail(ctx, log)
	fmt.Println("Treue: starting Postgres, NATS JetStream and the five services ...")
	s, err := stack.Up(ctx, stack.Options{
		Root: root, DataDir: dir, Database: devDatabase, NATSPort: natsPort, FixedPorts: true, Log: log,
		Auth: true, Stores: natsconf.ExampleStores,
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("\nTreue: stopping ...")
		s.Down()
		fmt.Println("Treue: stopped.")
	}()

	// The programme marketing would set up first, so that the demo's purchases earn by it.
	marketing, err := s.Conn("ledger", "marketing")
	if err != nil {
		return err
	}
	if err := demoTiers(ctx, marketing, os.Stdout); err != nil {
		return err
	}
	if err := demoSurveyLoop(ctx, s, os.Stdout); err != nil {
		return err
	}
	campaign, rules, err := demoRules(ctx, s)
	if err != nil {
		return err
	}
	fmt.Printf("Treue: earning rules live: campaign %q (%s), %d new rules\n", demoCampaign, campaign, len(rules))
	// Teams, hours and staff before the demo's answers, so that its cases are assigned.
	feedbackAdmin, err := s.Conn("feedback", "admin")
	if err != nil {
		return err
	}
	if err := demoTeams(ctx, feedbackAdmin, os.Stdout); err != nil {
		return err
	}
	fmt.Println("Treue: playing the demo (POS simulator) ...")
	res, err := demo.Run(ctx, s, os.Stdout, log)
	if err != nil {
		return fmt.Errorf("demo: %w (service logs: %s)", err, s.LogDir)
	}
	if err := demoOps(ctx, s, res.Members, os.Stdout); err != nil {
		return err
	}
	envFile := filepath.Join(dir, "dev.env")
	if err := os.WriteFile(envFile, []byte(devEnv(s)), 0o600); err != nil {
		return err
	}
	staffPassword, err := demoStaff(ctx, s.DatabaseURL, log)
	if err != nil {
		return err
	}
	surveys, err := demoSurveySummary(ctx, s, dir, mail)
	if err != nil {
		return err
	}
	printSummary(s, res, surveys, envFile, traces, staffPassword)
	if once {
		return nil
	}
	if mail != nil {
		go mail.watch(ctx, os.Stdout)
	}
	go demo.Trickle(ctx, s, res.Members, 2*time.Second, log)
	fmt.Println("\nA purchase every 2 s keeps the dashboard moving. Ctrl-C stops everything.")
	<-ctx.Done()
	return nil
}

// traceLog has every service, and the POS simulator, append its spans to a trace log in
// dir (or at OTEL_TRACES_FILE, when set), a JSON span a line: without a collector that
// is where a trace is seen. The simulator's tills start each trace. The log starts empty
// on every run. It returns the log's path and a func that flushes the simulator's spans.
func traceLog(ctx context.Context, dir string) (string, func(), error) {
	path := os.Getenv(telemetry.TracesFileEnv)
	if path == "" {
		path = filepath.Join(dir, "traces.jsonl")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			return "", nil, err
		}
		// The services inherit the runner's environment.
		os.Setenv(telemetry.TracesFileEnv, path)
	}
	shutdown, err := telemetry.Setup(ctx, "pos-simulator")
	if err != nil {
		return "", nil, err
	}
	return path, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	}, nil
}

func printSummary(s *stack.Stack, res *demo.Result, surveys surveySummary, envFile, traces, staffPassword string) {
	fmt.Println()
	fmt.Println("Treue is running.")
	fmt.Println()
	fmt.Printf("  Dashboard        http://%s/\n", s.Procs["reporting"].HTTPAddr)
	fmt.Printf("    sign in as     %s   password %s   (new every run)\n", demoStaffUser, staffPassword)
	fmt.Printf("  Agent inbox      http://%s/   (the same sign-in: the demo account manages customer service)\n", s.Procs["feedback"].HTTPAddr)
	fmt.Printf("  NATS             %s   (namespace %q)\n", s.NATSURL, s.Namespace)
	if s.NATSSeeds != "" {
		fmt.Printf("  NATS users       one nkey per service and store, seeds in %s\n", s.NATSSeeds)
	}
	fmt.Printf("  Postgres         %s\n", s.DatabaseURL)
	fmt.Println()
	fmt.Println("  gRPC (reflection on; grpcurl -plaintext):")
	for _, name := range stack.Services {
		fmt.Printf("    %-10s %s\n", name, s.Procs[name].GRPCAddr)
	}
	fmt.Println()
	fmt.Println("  Metrics (Prometheus) and readiness:")
	for _, name := range stack.Services {
		a := s.Procs[name].AdminAddr
		fmt.Printf("    %-10s http://%s/metrics   http://%s/readyz\n", name, a, a)
	}
	fmt.Println()
	surveys.print(os.Stdout, res)
	if len(res.SurveyLinks) > 0 {
		fmt.Println("  Survey links not yet answered (open one on your phone or browser):")
		for _, l := range res.SurveyLinks {
			fmt.Println("    " + l)
		}
	} else {
		fmt.Println("  Every demo survey is answered (one invitation per member per 30 days); `make clean` starts afresh.")
	}
	fmt.Println()
	fmt.Printf("  A coupon, not yet used:              %s\n", res.CouponCode)
	fmt.Printf("  Demo member ids:                     %s\n", strings.Join(res.Members[:3], ", ")+", ...")
	fmt.Println()
	fmt.Printf("  API keys and addresses of this run:  source %s\n", envFile)
	fmt.Printf("  Service logs:                        %s\n", s.LogDir)
	fmt.Printf("  Traces, a JSON span a line:          %s\n", traces)
	fmt.Printf("  Follow one (trace_id of a log line): go run ./scripts/cmd/treue-trace -file %s <trace_id>\n", traces)
	fmt.Println("                                       (no trace_id: the latest traces; or grep <trace_id> in the file)")
}

// demoStaffUser is the staff account `make run` signs the dashboard in with.
const demoStaffUser = "demo@treue.example"

// demoStaff creates the demo staff account (admin) or, when an earlier run made it, gives
// it a new password, and returns the password: generated, so no known password guards
// even a dev database.
func demoStaff(ctx context.Context, dsn string, log *slog.Logger) (string, error) {
	store, err := staff.Open(ctx, staff.Config{DatabaseURL: dsn}, log)
	if err != nil {
		return "", err
	}
	defer store.Close()
	pw := staff.GeneratePassword()
	_, err = store.Create(ctx, demoStaffUser, []string{"admin"}, pw)
	if errors.Is(err, staff.ErrExists) {
		err = store.SetPassword(ctx, demoStaffUser, pw)
	}
	if err != nil {
		return "", fmt.Errorf("demo staff account: %w", err)
	}
	return pw, nil
}

// devEnv is dev.env: the keys and addresses of this run as shell exports. Every name
// starts with TREUE_ and none is one the services, the runner or the tests read as
// configuration, so sourcing the file never changes what the next `make run` or
// `make test` connects to.
func devEnv(s *stack.Stack) string {
	var b strings.Builder
	b.WriteString("# Treue dev run: API keys (one per role) and addresses. Regenerated by every `make run`.\n")
	roles := make([]string, 0, len(s.Keys))
	for r := range s.Keys {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		fmt.Fprintf(&b, "export TREUE_%s_KEY=%s\n", strings.ToUpper(r), s.Keys[r])
	}
	for _, name := range stack.Services {
		fmt.Fprintf(&b, "export TREUE_%s_ADDR=%s\n", strings.ToUpper(name), s.Procs[name].GRPCAddr)
	}
	for _, name := range stack.Services {
		fmt.Fprintf(&b, "export TREUE_%s_ADMIN_URL=http://%s\n", strings.ToUpper(name), s.Procs[name].AdminAddr)
	}
	fmt.Fprintf(&b, "export TREUE_SURVEY_URL=http://%s\n", s.Procs["survey"].HTTPAddr)
	fmt.Fprintf(&b, "export TREUE_DASHBOARD_URL=http://%s/\n", s.Procs["reporting"].HTTPAddr)
	fmt.Fprintf(&b, "export TREUE_NATS_URL=%s\n", s.NATSURL)
	if s.NATSSeeds != "" {
		// A store's seed lets the nats CLI publish as that store:
		//   nats --nkey "$TREUE_NATS_SEEDS/store-berlin-01.nk" --inbox-prefix _INBOX_store-berlin-01 ...
		fmt.Fprintf(&b, "export TREUE_NATS_SEEDS=%s\n", s.NATSSeeds)
	}
	fmt.Fprintf(&b, "export TREUE_DATABASE_URL=%s\n", s.DatabaseURL)
	return b.String()
}

// ownStaleNATSURL reports whether natsURL is the address of this runner's embedded
// server while nothing listens there.
func ownStaleNATSURL(natsURL string, port int) bool {
	if natsURL != "nats://127.0.0.1:"+strconv.Itoa(port) {
		return false
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// repoRoot finds the directory holding go.work, from the working directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.work not found: run from the Treue checkout")
		}
		dir = parent
	}
}
