// Package testkit gives tests real, isolated Postgres databases and NATS
// JetStream namespaces, safe for t.Parallel, and what every service's tests do with
// them: start the service (Env, Start), call it as a role (Conn, As), publish events
// as producers do (Publish), wait until a consumer handled them (WaitHandled), read
// what it published (Events) and its dead letters (DeadLetters).
//
// The servers come from devstack and are resolved once per test binary. If
// that means starting a throwaway Postgres cluster or an embedded NATS
// server, they are only stopped by Main, so every package using testkit
// should have:
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
//
// Without it, a throwaway Postgres cluster (only started when neither
// DATABASE_URL nor a server on 127.0.0.1:5432 is available) outlives the
// test binary.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/treue/treue/pkg/devstack"
)

// service is a server resolved once per test binary.
type service struct {
	once sync.Once
	addr string // DSN or URL
	err  error
	stop func()
	dir  string // temp dir we created for it, removed by Main
}

// servers is the only package state: tests in one binary share the servers,
// which is what makes per-test databases and namespaces cheap.
var servers struct {
	postgres service
	nats     service
}

// Main runs the tests, then stops any server testkit started and removes its
// temp dirs. Call it from TestMain; when it returns, the testing package
// exits with m.Run's status.
func Main(m *testing.M) {
	CaptureMetrics()
	m.Run()
	for _, s := range []*service{&servers.postgres, &servers.nats} {
		// Waits for a resolve still in flight, makes later ones fail, and
		// makes its results visible here.
		s.once.Do(func() { s.err = errors.New("testkit: used after Main finished") })
		if s.stop != nil {
			s.stop()
		}
		if s.dir != "" {
			os.RemoveAll(s.dir)
		}
	}
}

func logger() *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func (s *service) resolve(prefix string, start func(ctx context.Context, dir string) (string, func(), error)) (string, error) {
	s.once.Do(func() {
		s.dir, s.err = os.MkdirTemp("", prefix)
		if s.err != nil {
			return
		}
		// Generous: on a bare root machine this may include apt-get install.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		s.addr, s.stop, s.err = start(ctx, filepath.Join(s.dir, "data"))
	})
	return s.addr, s.err
}

func serverDSN(t testing.TB) string {
	t.Helper()
	dsn, err := servers.postgres.resolve("treue-testkit-pg-", func(ctx context.Context, dir string) (string, func(), error) {
		return devstack.Postgres(ctx, dir, logger())
	})
	if err != nil {
		t.Fatalf("testkit: no Postgres available: %v\n"+
			"Point tests at a server with DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable, "+
			"or install the Postgres server binaries (Debian: `apt-get install -y postgresql`) so the tests start a throwaway cluster; "+
			"as root the tests install them themselves.", err)
	}
	return dsn
}

// Database creates a fresh, empty database for this test on the shared
// Postgres server and returns its DSN. It is dropped (WITH (FORCE), so open
// pools don't block it) when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	admin := serverDSN(t)
	name := "treue_test_" + randomHex(6)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := adminExec(ctx, admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testkit: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, admin, name); err != nil {
			t.Errorf("testkit: dropping database %s: %v", name, err)
		}
	})

	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return dsn
}

func dropDatabase(ctx context.Context, admin, name string) error {
	err := adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42601" {
		// Postgres < 13 has no FORCE: end the sessions ourselves.
		if err := adminExec(ctx, admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+name+"'"); err != nil {
			return err
		}
		return adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+name)
	}
	return err
}

// adminExec runs one statement on its own connection; CREATE/DROP DATABASE
// cannot run inside a transaction, and tests are few enough not to need a pool.
func adminExec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase points dsn (URL or keyword/value form) at database name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parsing Postgres URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In keyword/value form the last occurrence of a keyword wins.
	return dsn + " dbname=" + name, nil
}

// NATS returns the URL of the NATS server shared by this test binary:
// NATS_URL if set, else an embedded JetStream server started on first use.
// Use Namespace to keep tests apart on it.
func NATS(t testing.TB) string {
	t.Helper()
	u, err := servers.nats.resolve("treue-testkit-nats-", func(ctx context.Context, dir string) (string, func(), error) {
		return devstack.NATS(ctx, dir, logger())
	})
	if err != nil {
		t.Fatalf("testkit: no NATS available: %v\n"+
			"Unset NATS_URL to use a server embedded in the tests, or point it at a server with JetStream enabled (`nats-server -js`).", err)
	}
	return u
}

// Namespace returns a prefix unique to this test, like "t3f9a1c2b_", for
// stream names (strings.ToUpper(ns)+"LEDGER") and subjects (ns+"ledger.>"),
// so parallel tests sharing a NATS server never see each other's streams.
// Lowercase hex plus "_" is valid in both. When the test ends, every stream
// whose name starts with the prefix (case-insensitively, also after a "KV_"
// or "OBJ_" bucket prefix) is deleted.
func Namespace(t testing.TB) string {
	t.Helper()
	u := NATS(t)
	ns := "t" + randomHex(4) + "_"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := deleteStreams(ctx, u, ns); err != nil {
			t.Errorf("testkit: deleting streams of namespace %s: %v", ns, err)
		}
	})
	return ns
}

func deleteStreams(ctx context.Context, natsURL, ns string) error {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	var mine []string
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		if inNamespace(name, ns) {
			mine = append(mine, name)
		}
	}
	if err := names.Err(); err != nil {
		return err
	}
	var errs []error
	for _, name := range mine {
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func inNamespace(stream, ns string) bool {
	up := strings.ToUpper(stream)
	for _, p := range []string{"", "KV_", "OBJ_"} {
		if strings.HasPrefix(up, p+strings.ToUpper(ns)) {
			return true
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
