package testkit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
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
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/svc"
)

// Caller is the holder of an API key; services record Name as who acted. Stores are
// the stores a pos key acts for ("*": every store).
type Caller struct {
	Name, Role, Key string
	Stores          []string
}

// RoleCallers returns one caller for every role, named after it, with the key
// "test-key-<role>"; the pos caller acts for every store.
func RoleCallers() []Caller {
	out := make([]Caller, len(grpcx.Roles))
	for i, r := range grpcx.Roles {
		out[i] = Caller{Name: r, Role: r, Key: "test-key-" + r}
		if r == "pos" {
			out[i].Stores = []string{"*"}
		}
	}
	return out
}

// APIKeys returns callers as API_KEYS.
func APIKeys(callers []Caller) string {
	entries := make([]string, len(callers))
	for i, c := range callers {
		role := c.Role
		if len(c.Stores) > 0 {
			role += "@" + strings.Join(c.Stores, "|")
		}
		entries[i] = c.Name + ":" + role + ":" + grpcx.HashKey(c.Key)
	}
	return strings.Join(entries, ",")
}

// Env is one test's world for running services: a fresh database, a NATS namespace,
// the API keys of its callers, and a JetStream connection to publish and read events.
// Its methods fail the test they were made for; For gives the same world to a subtest.
type Env struct {
	t testing.TB
	w *world
}

// world is what the views of one Env share.
type world struct {
	root    testing.TB // owns the connections
	dsn     string
	natsURL string
	ns      bus.Namespace
	js      jetstream.JetStream
	callers []Caller

	mu    sync.Mutex
	conns map[[2]string]*grpc.ClientConn // by address and role
}

// NewEnv gives the test a fresh database and NATS namespace. The services it starts
// accept callers, by default RoleCallers.
func NewEnv(t testing.TB, callers ...Caller) *Env {
	t.Helper()
	if len(callers) == 0 {
		callers = RoleCallers()
	}
	w := &world{
		root: t, dsn: Database(t), natsURL: NATS(t), ns: bus.Namespace(Namespace(t)),
		callers: callers, conns: map[[2]string]*grpc.ClientConn{},
	}
	nc, err := nats.Connect(w.natsURL)
	if err != nil {
		t.Fatalf("testkit: connecting to NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	if w.js, err = jetstream.New(nc); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return &Env{t: t, w: w}
}

// For returns the same world failing t, for use in a subtest.
func (e *Env) For(t testing.TB) *Env { return &Env{t: t, w: e.w} }

// DatabaseURL is the test's database.
func (e *Env) DatabaseURL() string { return e.w.dsn }

// NATSURL is the NATS server.
func (e *Env) NATSURL() string { return e.w.natsURL }

// NS is the test's namespace of streams, subjects and consumers.
func (e *Env) NS() bus.Namespace { return e.w.ns }

// JS is a JetStream connection for the test's own use.
func (e *Env) JS() jetstream.JetStream { return e.w.js }

// Base is the configuration every service shares, pointed at this world: loopback gRPC
// and admin on free ports, no HTTP server, the callers' keys, one replica and a small pool.
func (e *Env) Base() svc.Base {
	return svc.Base{
		DatabaseURL: e.w.dsn, NATSURL: e.w.natsURL, Namespace: string(e.w.ns),
		GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", APIKeys: APIKeys(e.w.callers), StreamReplicas: 1, DBMaxConns: 4,
	}
}

// Key returns the key of the first caller with role.
func (e *Env) Key(role string) string {
	e.t.Helper()
	for _, c := range e.w.callers {
		if c.Role == role {
			return c.Key
		}
	}
	e.t.Fatalf("testkit: no caller has the role %q", role)
	return ""
}

// As returns a context for a call as the caller with role ("" for one without a key),
// for clients that send no key of their own.
func (e *Env) As(role string) context.Context {
	e.t.Helper()
	if role == "" {
		return Ctx(e.t)
	}
	return grpcx.WithAPIKey(Ctx(e.t), e.Key(role))
}

// Conn returns a client connection to addr that sends the key of role with every call
// ("" sends none). Connections are shared by the test and closed when it ends.
func (e *Env) Conn(addr, role string) *grpc.ClientConn {
	e.t.Helper()
	key := ""
	if role != "" {
		key = e.Key(role)
	}
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	if c, ok := e.w.conns[[2]string{addr, role}]; ok {
		return c
	}
	c, err := dial(addr, key)
	if err != nil {
		e.t.Fatalf("testkit: dialling %s: %v", addr, err)
	}
	// Shared with the other views, so it lives as long as the world, not a subtest.
	e.w.root.Cleanup(func() { _ = c.Close() })
	e.w.conns[[2]string{addr, role}] = c
	return c
}

// Dial connects to addr sending key with every call ("" sends none); the connection is
// closed when the test ends.
func Dial(t testing.TB, addr, key string) *grpc.ClientConn {
	t.Helper()
	c, err := dial(addr, key)
	if err != nil {
		t.Fatalf("testkit: dialling %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func dial(addr, key string) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if key != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(grpcx.APIKeyCredentials(key)))
	}
	return grpc.NewClient(addr, opts...)
}

// DB is a pool on one service's schema, for a test to look at what the service stored.
type DB struct {
	*pgxpool.Pool
	t testing.TB
}

// DB connects to schema in the test's database. Call it once the service that owns the
// schema has started.
func (e *Env) DB(schema string) *DB {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pg.Connect(ctx, e.w.dsn, schema, 4)
	if err != nil {
		e.t.Fatalf("testkit: %v", err)
	}
	e.t.Cleanup(pool.Close)
	return &DB{Pool: pool, t: e.t}
}

// Count runs a query returning one number, such as SELECT count(*).
func (d *DB) Count(query string, args ...any) int64 {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int64
	if err := d.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		d.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Service is what every service's package offers: Run until the context ends, and the
// addresses it listens on.
type Service interface {
	Run(ctx context.Context) error
	GRPCAddr() string
	HTTPAddr() string
}

// Running is a service started by Start.
type Running[S Service] struct {
	Service S

	cancel context.CancelFunc
	done   chan struct{}
	err    error       // what Run returned, once done is closed
	seen   atomic.Bool // the test took Run's result itself
}

// Start builds a service with newService (a service package's New) from cfg and runs it
// until the test ends or Stop is called. At the end of the test, an error from Run that
// the test did not take with Stop fails it.
func Start[C any, S Service](t testing.TB, newService func(context.Context, C, *slog.Logger) (S, error), cfg C) *Running[S] {
	t.Helper()
	// New gets the context Run gets, so nothing it starts outlives the service.
	ctx, cancel := context.WithCancel(context.Background())
	s, err := newService(ctx, cfg, Logger(t))
	if err != nil {
		cancel()
		t.Fatalf("testkit: starting %T: %v", s, err)
	}
	r := &Running[S]{Service: s, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = s.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		if err := r.stop(); err != nil && !r.seen.Load() {
			t.Errorf("%T stopped with: %v", s, err)
		}
	})
	return r
}

// Done is closed when Run has returned, on Stop or on its own.
func (r *Running[S]) Done() <-chan struct{} { return r.done }

// Stop ends the service and returns what Run returned.
func (r *Running[S]) Stop() error {
	r.seen.Store(true)
	return r.stop()
}

func (r *Running[S]) stop() error {
	r.cancel()
	select {
	case <-r.done:
		return r.err
	case <-time.After(30 * time.Second):
		return errors.New("the service did not stop within 30s")
	}
}

// Logger is the services' logger in tests: silent, unless the tests run with -v.
func Logger(t testing.TB) *slog.Logger {
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})).With("test", t.Name())
}

// Ctx returns a context for a step of a test: it ends after 30s, or with the test.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Eventually polls cond until it holds, and fails the test if it does not within.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WantCode fails the test unless err has the gRPC status code.
func WantCode(t testing.TB, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

// WantReason fails the test unless err is FailedPrecondition with the reason.
func WantReason(t testing.TB, err error, reason string) {
	t.Helper()
	WantCode(t, err, codes.FailedPrecondition)
	if got := grpcx.Reason(err); got != reason {
		t.Fatalf("reason = %q (%v), want %s", got, err, reason)
	}
}
