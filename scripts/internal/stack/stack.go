// Package stack runs the whole system on one machine: Postgres and NATS (found or
// started by devstack), and the five services as separate processes built from this
// checkout. `make run` and `make bench` use it.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/cpustat"
	"github.com/treue/treue/pkg/devstack"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/natsauth"
	"github.com/treue/treue/scripts/internal/natsconf"
)

// Services in start order: the ledger first, because rewards calls it.
var Services = []string{"ledger", "survey", "feedback", "rewards", "reporting"}

// Options say where the stack lives.
type Options struct {
	// Root is the repository's root directory.
	Root string
	// DataDir keeps a throwaway Postgres cluster, the NATS store and the logs.
	DataDir string
	// Database is the database the services share (each in its own schema).
	Database string
	// NATSPort is the embedded server's port when NATS_URL is unset (0: any).
	NATSPort int
	// FixedPorts uses the documented default ports (7001-7005, 8082, 8083, 8085); otherwise
	// free ports are picked, so that a benchmark can run beside `make run`.
	FixedPorts bool
	// Namespace prefixes streams and subjects.
	Namespace string
	// Env is added to every service's environment.
	Env []string
	// Auth starts the embedded NATS server with the users the event contract gives
	// (natsconf), each service and the POS simulator with its own credentials, and
	// these stores. Without it, or with NATS_URL set, NATS is used anonymously.
	Auth   bool
	Stores []string
	Log    *slog.Logger
}

// Proc is one running service.
type Proc struct {
	Name     string
	GRPCAddr string
	HTTPAddr string
	// AdminAddr serves /metrics, /healthz, /readyz and /loglevel.
	AdminAddr string
	cmd       *exec.Cmd
	done      chan struct{}
	logFile   *os.File
}

// Stack is the running system.
type Stack struct {
	DatabaseURL string
	NATSURL     string
	Namespace   string
	// NATSSeeds is the folder of the NATS users' seeds (natsauth.SeedFile), "" when
	// NATS is used anonymously.
	NATSSeeds string
	// Keys are the API keys of this run by role: admin, marketing, service_agent, pos,
	// auditor, service.
	Keys  map[string]string
	Procs map[string]*Proc
	// LogDir holds each service's log.
	LogDir string

	log   *slog.Logger
	stops []func()
	conns sync.Map
}

// Up starts everything and waits until every service answers its health check.
func Up(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Stack{Namespace: o.Namespace, Keys: map[string]string{}, Procs: map[string]*Proc{}, log: o.Log,
		LogDir: filepath.Join(o.DataDir, "logs")}
	defer func() {
		if err != nil {
			s.Down()
		}
	}()
	if err := os.MkdirAll(s.LogDir, 0o755); err != nil {
		return nil, err
	}
	pgDSN, stopPG, err := devstack.Postgres(ctx, filepath.Join(o.DataDir, "postgres"), o.Log)
	if err != nil {
		return nil, err
	}
	s.stops = append(s.stops, stopPG)
	if s.DatabaseURL, err = ensureDatabase(ctx, pgDSN, o.Database); err != nil {
		return nil, err
	}
	natsOpts := devstack.NATSOptions{Port: o.NATSPort}
	if o.Auth && os.Getenv("NATS_URL") == "" {
		// Seeds outlive a restart, like the data: a till configured once keeps working.
		s.NATSSeeds = filepath.Join(o.DataDir, "nats-seeds")
		natsOpts.ConfigFile = filepath.Join(o.DataDir, "nats-auth.conf")
		if _, err := natsconf.Write(natsOpts.ConfigFile, s.NATSSeeds, o.Stores, bus.Namespace(o.Namespace)); err != nil {
			return nil, err
		}
	}
	natsURL, stopNATS, err := devstack.NATSWithOptions(ctx, filepath.Join(o.DataDir, "nats"), o.Log, natsOpts)
	if err != nil {
		return nil, err
	}
	s.stops = append(s.stops, stopNATS)
	s.NATSURL = natsURL

	bin := filepath.Join(o.Root, "bin")
	o.Log.Info("building the services")
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	for _, name := range Services {
		args = append(args, "./services/"+name+"/cmd/"+name)
	}
	build := exec.CommandContext(ctx, "go", args...)
	build.Dir, build.Stdout, build.Stderr = o.Root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build services: %w", err)
	}

	var apiKeys []string
	for _, role := range grpcx.Roles {
		key := "treue_" + role + "_" + randomHex(16)
		s.Keys[role] = key
		spec := role
		if role == "pos" {
			// The demo tills' key acts for the demo stores only.
			spec += "@" + strings.Join(DemoStores, "|")
		}
		apiKeys = append(apiKeys, "dev-"+strings.ReplaceAll(role, "_", "-")+":"+spec+":"+grpcx.HashKey(key))
	}
	ports, err := s.ports(o.FixedPorts)
	if err != nil {
		return nil, err
	}
	tokenSecret, err := keptSecret(filepath.Join(o.DataDir, "survey-token-secret"))
	if err != nil {
		return nil, err
	}
	common := append([]string{
		"DATABASE_URL=" + s.DatabaseURL,
		"NATS_URL=" + s.NATSURL,
		"TREUE_NAMESPACE=" + o.Namespace,
		"API_KEYS=" + strings.Join(apiKeys, ","),
		"SERVICE_API_KEY=" + s.Keys["service"],
		"REWARDS_LEDGER_ADDR=" + ports["ledger"][0],
		"FEEDBACK_REWARDS_ADDR=" + ports["rewards"][0],
		"FEEDBACK_REWARDS_API_KEY=" + s.Keys["goodwill"],
		"SURVEY_PUBLIC_URL=http://" + ports["survey"][1],
		"SURVEY_TOKEN_SECRET=" + tokenSecret,
		"LOG_LEVEL=info",
	}, o.Env...)
	for _, name := range Services {
		p, err := s.start(ctx, filepath.Join(bin, name), name, ports[name], common)
		if err != nil {
			return nil, err
		}
		s.Procs[name] = p
	}
	for _, name := range Services {
		if err := s.waitHealthy(ctx, s.Procs[name]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ports returns each service's gRPC, HTTP and admin address.
func (s *Stack) ports(fixed bool) (map[string][3]string, error) {
	fixedPorts := map[string][3]int{
		"ledger": {7001, 0, 9001}, "survey": {7002, 8082, 9002}, "feedback": {7003, 8083, 9003}, "rewards": {7004, 0, 9004}, "reporting": {7005, 8085, 9005},
	}
	out := map[string][3]string{}
	for name, fp := range fixedPorts {
		var addrs [3]string
		for i, port := range fp {
			if i == 1 && port == 0 {
				continue
			}
			if !fixed || !portFree(port) {
				if fixed {
					s.log.Warn("port taken; using another", "service", name, "port", port)
				}
				p, err := freePort()
				if err != nil {
					return nil, err
				}
				port = p
			}
			addrs[i] = "127.0.0.1:" + strconv.Itoa(port)
		}
		out[name] = addrs
	}
	return out, nil
}

func (s *Stack) start(ctx context.Context, binary, name string, addrs [3]string, common []string) (*Proc, error) {
	logPath := filepath.Join(s.LogDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	up := strings.ToUpper(name)
	env := append(os.Environ(), common...)
	env = append(env, up+"_GRPC_ADDR="+addrs[0], up+"_HTTP_ADDR="+addrs[1], up+"_ADMIN_ADDR="+addrs[2])
	if s.NATSSeeds != "" {
		env = append(env, "NATS_NKEY_SEED=", "NATS_NKEY_SEED_FILE="+natsauth.SeedFile(s.NATSSeeds, name))
	}
	cmd := exec.Command(binary)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, f, f
	// Its own process group: Ctrl-C reaches the runner, which stops the services in
	// order, instead of every process at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, GRPCAddr: addrs[0], HTTPAddr: addrs[1], AdminAddr: addrs[2], cmd: cmd, done: make(chan struct{}), logFile: f}
	go func() { _ = cmd.Wait(); close(p.done) }()
	s.log.Info("service started", "service", name, "pid", cmd.Process.Pid, "grpc", addrs[0], "admin", addrs[2], "log", logPath)
	return p, nil
}

func (s *Stack) waitHealthy(ctx context.Context, p *Proc) error {
	conn, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited during start-up; see %s:\n%s", p.Name, p.logFile.Name(), tail(p.logFile.Name(), 20))
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := hc.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.Status == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after 60s (last error %v); see %s", p.Name, err, p.logFile.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// NATS connects to the stack's NATS as user (a service, "store-<id>", "touchpoint"),
// or anonymously when the stack runs without auth.
func (s *Stack) NATS(user string, opts ...nats.Option) (*nats.Conn, error) {
	if s.NATSSeeds != "" {
		auth, err := bus.Credentials{NkeySeedFile: natsauth.SeedFile(s.NATSSeeds, user)}.Options()
		if err != nil {
			return nil, err
		}
		opts = append(append(opts, auth...), nats.CustomInboxPrefix(bus.InboxPrefix(user)))
	}
	return nats.Connect(s.NATSURL, opts...)
}

// Conn returns a client connection to a service that sends the API key of role.
func (s *Stack) Conn(service, role string) (*grpc.ClientConn, error) {
	k := service + "/" + role
	if c, ok := s.conns.Load(k); ok {
		return c.(*grpc.ClientConn), nil
	}
	p, ok := s.Procs[service]
	if !ok {
		return nil, fmt.Errorf("no service %q", service)
	}
	c, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(grpcx.APIKeyCredentials(s.Keys[role])))
	if err != nil {
		return nil, err
	}
	s.conns.Store(k, c)
	return c, nil
}

// PeakRSS returns each service's peak resident memory in bytes (VmHWM).
func (s *Stack) PeakRSS() map[string]int64 {
	out := map[string]int64{}
	for name, p := range s.Procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				out[name] = kb * 1024
			}
		}
	}
	return out
}

// CPU returns the CPU time each service process has used so far.
func (s *Stack) CPU() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, p := range s.Procs {
		if d, err := cpustat.Pid(p.cmd.Process.Pid); err == nil {
			out[name] = d
		}
	}
	return out
}

// Down stops the services in reverse order (SIGTERM, then SIGKILL after 20 s), then
// NATS and Postgres if this stack started them.
func (s *Stack) Down() {
	s.conns.Range(func(_, c any) bool { _ = c.(*grpc.ClientConn).Close(); return true })
	for i := len(Services) - 1; i >= 0; i-- {
		p, ok := s.Procs[Services[i]]
		if !ok {
			continue
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			s.log.Warn("service did not stop in time; killing it", "service", p.Name)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		p.logFile.Close()
	}
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
}

// ensureDatabase creates the database if missing and returns the DSN that names it.
func ensureDatabase(ctx context.Context, dsn, name string) (string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", err
		}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// DropDatabase removes a database that a benchmark created.
func DropDatabase(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// keptSecret returns the secret stored at path, making and storing one the first time:
// survey links signed by one run must still open after a restart.
func keptSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if secret := strings.TrimSpace(string(b)); len(secret) >= 64 {
			return secret, nil
		}
		// Too short to be one we wrote: replace it rather than sign with it.
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	secret := randomHex(32)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", err
	}
	return secret, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// DemoStores are the stores of the demo traffic; the run's pos key acts for these.
var DemoStores = []string{"berlin-01", "hamburg-02", "web"}

// ErrNotRoot is returned when Root is not this repository.
var ErrNotRoot = errors.New("stack: run from the repository root (where go.work is)")
