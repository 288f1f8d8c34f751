// Package svc is the shape of every Treue process: configuration from the environment,
// resources opened in order, consumers and the outbox relay and the servers run together,
// and an ordered shutdown: stop intake, drain consumers, flush the relay, close NATS, close
// the pool.
package svc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/admin"
	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/telemetry"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
)

// Base is the configuration every service reads.
type Base struct {
	DatabaseURL string // DATABASE_URL
	NATSURL     string // NATS_URL
	// NATSCredentials: NATS_NKEY_SEED_FILE or NATS_NKEY_SEED, the service's own NATS
	// user; none connects anonymously.
	NATSCredentials bus.Credentials
	// Namespace prefixes streams and subjects (TREUE_NAMESPACE); "" in production.
	Namespace      string
	GRPCAddr       string // <SERVICE>_GRPC_ADDR
	HTTPAddr       string // <SERVICE>_HTTP_ADDR; "" for no HTTP server
	AdminAddr      string // <SERVICE>_ADMIN_ADDR: /metrics, /healthz, /readyz, /loglevel; "" for none
	APIKeys        string // API_KEYS: name:role[+role]:sha256hex,...
	StreamReplicas int    // STREAM_REPLICAS
	DBMaxConns     int    // <SERVICE>_DB_MAX_CONNS
	// InboxRetention is how long inbox rows are kept (INBOX_RETENTION); 0 keeps them.
	InboxRetention time.Duration
	// Hooks tune every consumer of the service in tests; zero in production.
	Hooks ConsumerHooks
	// Tracing makes the service's spans; nil (production) takes the global provider
	// telemetry.Setup installs. A test running several services in one process gives
	// each its own, so that each span names its service.
	Tracing trace.TracerProvider

	// AuthDatabaseURL holds the schema auth: the managed API keys (AUTH_DATABASE_URL;
	// "" for DatabaseURL). API_KEYS takes name:role[+role][@store|store]:sha256hex.
	AuthDatabaseURL string
	// KeyPoll is how often the stored keys are reloaded besides on notification; 0 for
	// keystore.PollInterval. Not read from the environment.
	KeyPoll time.Duration
	// GRPCLimits bound what a client may ask of the gRPC server (GRPC_MAX_*; zero
	// fields take grpcx.DefaultLimits).
	GRPCLimits grpcx.Limits
}

// LoadBase reads Base from the environment; prefix is the service's upper-case name.
func LoadBase(env *config.Env, prefix, grpcAddr, httpAddr string) Base {
	return Base{
		DatabaseURL: env.String("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/treue?sslmode=disable"),
		NATSURL:     env.String("NATS_URL", "nats://127.0.0.1:4222"),
		NATSCredentials: bus.Credentials{
			NkeySeed:     env.String("NATS_NKEY_SEED", ""),
			NkeySeedFile: env.String("NATS_NKEY_SEED_FILE", ""),
		},
		Namespace:      env.String("TREUE_NAMESPACE", ""),
		GRPCAddr:       env.String(prefix+"_GRPC_ADDR", grpcAddr),
		HTTPAddr:       env.String(prefix+"_HTTP_ADDR", httpAddr),
		AdminAddr:      env.String(prefix+"_ADMIN_ADDR", defaultAdminAddrs[prefix]),
		APIKeys:        env.String("API_KEYS", ""),
		StreamReplicas: env.Int("STREAM_REPLICAS", 1),
		DBMaxConns:     env.Int(prefix+"_DB_MAX_CONNS", 8),
		InboxRetention: env.Duration("INBOX_RETENTION", 30*24*time.Hour),
		GRPCLimits:     grpcx.LoadLimits(env),

		AuthDatabaseURL: env.String("AUTH_DATABASE_URL", ""),
	}
}

// LogValue masks what must not reach a log.
func (b Base) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("database_url", maskURL(b.DatabaseURL)),
		slog.String("nats_url", maskURL(b.NATSURL)),
		slog.Bool("nats_anonymous", b.NATSCredentials.Anonymous()),
		slog.String("namespace", b.Namespace),
		slog.String("grpc_addr", b.GRPCAddr),
		slog.String("http_addr", b.HTTPAddr),
		slog.String("admin_addr", b.AdminAddr),
		slog.Int("api_keys", len(splitNonEmpty(b.APIKeys))),
		slog.Int("stream_replicas", b.StreamReplicas),
		slog.Duration("inbox_retention", b.InboxRetention),
		slog.String("auth_database_url", maskURL(b.AuthDatabaseURL)),
	)
}

// Options are what a service brings to the runtime.
type Options struct {
	Name       string
	Schema     string
	Migrations fs.FS
	// Produces are the event types the service emits (one message of each): its Outbox
	// takes these and no other, and their streams are created at start-up. The streams
	// a service consumes are created when its consumers start.
	Produces []proto.Message
}

// Runtime holds a service's open resources.
type Runtime struct {
	Name  string
	Pool  *pgxpool.Pool
	NC    *nats.Conn
	JS    jetstream.JetStream
	NS    bus.Namespace
	Relay *bus.Relay
	// Outbox is the service's door for the events it emits.
	Outbox *bus.Outbox
	// DB runs use cases in transactions; every commit wakes the relay.
	DB   *pg.DB
	GRPC *grpcx.Server
	Log  *slog.Logger
	// AuthPool reaches the auth schema (AUTH_DATABASE_URL): the API keys, and the staff
	// sign-in of a service with web pages.
	AuthPool *pgxpool.Pool

	grpcLis   net.Listener
	httpLis   net.Listener
	adminLis  net.Listener
	metrics   http.Handler
	keys      grpcx.Keys
	level     *slog.LevelVar
	schema    string
	lastReady atomic.Pointer[Report]
	http      http.Handler
	consumers []*bus.Consumer
	workers   []func(context.Context)
	closers   []func()

	inboxRetention time.Duration
	streamOpts     bus.StreamOptions
	hooks          ConsumerHooks
	tracing        trace.TracerProvider
}

// Open connects, migrates and creates the streams. Close releases what Open took when
// Run is not called.
func Open(ctx context.Context, base Base, opts Options, log *slog.Logger) (_ *Runtime, err error) {
	r := &Runtime{Name: opts.Name, NS: bus.Namespace(base.Namespace), Log: log, inboxRetention: base.InboxRetention, hooks: base.Hooks,
		level: logLevelFrom(ctx), schema: opts.Schema, tracing: base.Tracing}
	// The meter provider is global: it must be in place before the instruments of the
	// gRPC server and the pool are made. Main installs it under the service's name.
	if r.metrics, err = telemetry.MetricsHandler(); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	r.Pool, err = pg.Connect(ctx, base.DatabaseURL, opts.Schema, int32(base.DBMaxConns), pg.WithTracerProvider(base.Tracing))
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.Pool.Close)
	if err := otelpgx.RecordStats(r.Pool, otelpgx.WithStatsAttributes(attribute.String("db.schema", opts.Schema))); err != nil {
		return nil, fmt.Errorf("pool metrics: %w", err)
	}
	sets := []pg.Migration{bus.Migrations()}
	if opts.Migrations != nil {
		sets = append(sets, pg.Migration{Name: opts.Schema, FS: opts.Migrations})
	}
	if err := pg.Migrate(ctx, r.Pool, opts.Schema, log, sets...); err != nil {
		return nil, err
	}
	natsOpts, err := base.NATSCredentials.Options()
	if err != nil {
		return nil, err
	}
	natsOpts = append(natsOpts,
		// Replies come to the service's own inboxes, the only ones its user may read.
		nats.CustomInboxPrefix(bus.InboxPrefix(opts.Name)),
		// A refusal by the server (a publish outside the user's permissions) arrives
		// asynchronously; the server logs it too. Counted: it means the service's NATS
		// user does not match the contract it runs.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				telemetry.Refused(context.Background(), "nats_permission")
			}
			if sub != nil {
				log.Error("nats error", "subject", sub.Subject, "err", err)
			} else {
				log.Error("nats error", "err", err)
			}
		}))
	r.NC, r.JS, err = bus.Connect(base.NATSURL, "treue-"+opts.Name, natsOpts...)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.NC.Close)
	r.Outbox, err = bus.NewOutbox(opts.Produces...)
	if err != nil {
		return nil, err
	}
	r.streamOpts = bus.StreamOptions{Replicas: base.StreamReplicas}
	if err := bus.EnsureStreams(ctx, r.JS, r.NS, r.streamOpts, r.Outbox.Streams()...); err != nil {
		return nil, err
	}
	r.Relay = bus.NewRelay(r.Pool, r.JS, r.NS, log)
	r.Relay.SetTracerProvider(base.Tracing)
	r.DB = pg.NewDB(r.Pool, r.Relay.Notify)
	keys, err := grpcx.ParseKeys(base.APIKeys)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		log.Warn("API_KEYS is empty: only keys of the key store (KeyService) are accepted")
	}
	r.keys = keys
	r.GRPC, err = grpcx.NewServer(keys, log, grpcx.WithTracerProvider(base.Tracing), grpcx.WithLimits(base.GRPCLimits))
	if err != nil {
		return nil, err
	}
	if err := r.openKeys(ctx, base); err != nil {
		return nil, err
	}
	r.grpcLis, err = net.Listen("tcp", base.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("listen gRPC %s: %w", base.GRPCAddr, err)
	}
	r.closers = append(r.closers, func() { _ = r.grpcLis.Close() })
	if base.HTTPAddr != "" {
		r.httpLis, err = net.Listen("tcp", base.HTTPAddr)
		if err != nil {
			return nil, fmt.Errorf("listen HTTP %s: %w", base.HTTPAddr, err)
		}
		r.closers = append(r.closers, func() { _ = r.httpLis.Close() })
	}
	if base.AdminAddr != "" {
		r.adminLis, err = net.Listen("tcp", base.AdminAddr)
		if err != nil {
			return nil, fmt.Errorf("listen admin %s: %w", base.AdminAddr, err)
		}
		r.closers = append(r.closers, func() { _ = r.adminLis.Close() })
	}
	return r, nil
}

// GRPCAddr is the address the gRPC server listens on (useful with port 0).
func (r *Runtime) GRPCAddr() string { return r.grpcLis.Addr().String() }

// HTTPAddr is the address the HTTP server listens on, or "".
func (r *Runtime) HTTPAddr() string {
	if r.httpLis == nil {
		return ""
	}
	return r.httpLis.Addr().String()
}

// HandleHTTP sets the handler of the HTTP server.
func (r *Runtime) HandleHTTP(h http.Handler) { r.http = h }

// Consume adds durable consumers; their commits wake the outbox relay.
func (r *Runtime) Consume(cfgs ...bus.ConsumerConfig) error {
	for _, cfg := range cfgs {
		if err := r.consume(r.hooks.Apply(cfg)); err != nil {
			return fmt.Errorf("consumer %s: %w", cfg.Name, err)
		}
	}
	return nil
}

func (r *Runtime) consume(cfg bus.ConsumerConfig) error {
	after := cfg.AfterCommit
	cfg.AfterCommit = func() {
		r.Relay.Notify()
		if after != nil {
			after()
		}
	}
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = r.tracing
	}
	c, err := bus.NewConsumer(r.Pool, r.JS, r.NS, r.Log, cfg)
	if err != nil {
		return err
	}
	r.consumers = append(r.consumers, c)
	return nil
}

// Background adds a worker (an expirer, a scheduler) that runs with the consumers: it
// gets a context that ends at shutdown and must return then; the relay's last pass and
// the pool's closing wait for it, so what it commits is published.
func (r *Runtime) Background(worker func(ctx context.Context)) {
	r.workers = append(r.workers, worker)
}

// Run serves until ctx ends or a part fails, then shuts down in order and releases
// everything Open took.
func (r *Runtime) Run(ctx context.Context) error {
	defer r.Close()
	adminv1.RegisterAdminServiceServer(r.GRPC, admin.NewServer(r.Pool, r.consumers...).WithLogLevel(r.level, r.Log))

	// The streams consumed here: a consumer cannot start on a stream that its producer
	// has not created yet. Another service's stream is only created when missing (its
	// configuration is its producer's); the retailer's streams (POS, touchpoints) have
	// no producer in Treue, so their consumers keep them.
	for _, c := range r.consumers {
		ensure := bus.EnsureStreamsExist
		if c.External() {
			ensure = bus.EnsureStreams
		}
		if err := ensure(ctx, r.JS, r.NS, r.streamOpts, c.Stream()); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
	)
	fail := func(part string, err error) {
		if err == nil || errors.Is(err, context.Canceled) {
			return
		}
		mu.Lock()
		if firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", part, err)
		}
		mu.Unlock()
		cancel()
	}

	// Intake: servers and consumers stop first, when ctx ends.
	var intake sync.WaitGroup
	intake.Add(1)
	go func() {
		defer intake.Done()
		fail("grpc", r.GRPC.Serve(ctx, r.grpcLis, 10*time.Second))
	}()
	serveHTTP := func(part string, lis net.Listener, h http.Handler) {
		srv := NewHTTPServer(h, r.Log)
		intake.Add(2)
		go func() {
			defer intake.Done()
			if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
				fail(part, err)
			}
		}()
		go func() {
			defer intake.Done()
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer scancel()
			_ = srv.Shutdown(sctx)
		}()
	}
	if r.httpLis != nil && r.http != nil {
		serveHTTP("http", r.httpLis, otelhttp.NewHandler(r.http, r.Name, otelhttp.WithTracerProvider(r.tracing)))
	}
	if r.adminLis != nil {
		serveHTTP("admin", r.adminLis, r.adminHandler())
	}
	names := make([]string, len(r.consumers))
	for i, c := range r.consumers {
		names[i] = c.Name()
	}
	stopStore, err := bus.ObserveStore(r.Pool, names, attribute.String("db.schema", r.schema))
	if err != nil {
		return fmt.Errorf("store metrics: %w", err)
	}
	defer stopStore()
	stopReady, err := r.observeReadiness()
	if err != nil {
		return fmt.Errorf("readiness metric: %w", err)
	}
	defer stopReady()
	r.workers = append(r.workers, func(ctx context.Context) { r.watchReadiness(ctx, readinessPeriod) })
	for _, c := range r.consumers {
		intake.Add(1)
		go func() {
			defer intake.Done()
			fail("consumer "+c.Name(), c.Run(ctx))
		}()
	}
	// The relay outlives intake, so that what the last batches wrote is published.
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		_ = r.Relay.Run(relayCtx)
	}()
	if r.inboxRetention > 0 {
		r.workers = append(r.workers, r.pruneInbox)
	}
	for _, w := range r.workers {
		intake.Add(1)
		go func() {
			defer intake.Done()
			w(ctx)
		}()
	}
	r.Log.Info("service started", "grpc", r.GRPCAddr(), "http", r.HTTPAddr(), "admin", r.AdminAddr(), "consumers", len(r.consumers))

	<-ctx.Done()
	intake.Wait()
	stopRelay()
	<-relayDone
	r.Log.Info("service stopped")
	return firstErr
}

// pruneInbox deletes old inbox rows hourly (and once shortly after start).
func (r *Runtime) pruneInbox(ctx context.Context) {
	wait := time.Minute
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = time.Hour
		n, err := bus.PruneInbox(ctx, r.Pool, r.inboxRetention)
		if err != nil && ctx.Err() == nil {
			r.Log.Warn("inbox pruning failed", "err", err)
		} else if n > 0 {
			r.Log.Info("inbox pruned", "rows", n, "retention", r.inboxRetention)
		}
	}
}

// Close releases resources in the reverse order of Open. Run calls it.
func (r *Runtime) Close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}

// ConsumerHooks override consumer settings in tests: shorter waits, injected crashes.
// The zero value (production) keeps the bus's defaults. Not read from the environment.
type ConsumerHooks struct {
	// AckWait, Backoff and MaxDeliver replace the bus's defaults when set.
	AckWait    time.Duration
	Backoff    []time.Duration
	MaxDeliver int
	// WedgedAfter replaces how long one batch may run before /healthz calls the
	// process stuck (5 minutes).
	WedgedAfter time.Duration
	// BeforeAck, when it returns an error, makes the named consumer stop after its
	// commit without acking, as a crashed process would (bus.ConsumerConfig.BeforeAck).
	BeforeAck func(consumer string, msgs []*bus.Message) error
}

// Apply returns c with the hooks' overrides.
func (h ConsumerHooks) Apply(c bus.ConsumerConfig) bus.ConsumerConfig {
	if h.AckWait > 0 {
		c.AckWait = h.AckWait
	}
	if len(h.Backoff) > 0 {
		c.Backoff = h.Backoff
	}
	if h.MaxDeliver > 0 {
		c.MaxDeliver = h.MaxDeliver
	}
	if h.BeforeAck != nil {
		name, hook := c.Name, h.BeforeAck
		c.BeforeAck = func(msgs []*bus.Message) error { return hook(name, msgs) }
	}
	return c
}
