package devstack

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// tWriter sends logs to t.Log so they only show for failing or -v runs.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func unsetenv(t *testing.T, key string) {
	t.Setenv(key, "") // restores the original value after the test
	os.Unsetenv(key)
}

func TestNATSEmbedded(t *testing.T) {
	unsetenv(t, "NATS_URL")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	u, stop, err := NATS(ctx, t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if strings.HasSuffix(u, ":4222") {
		t.Fatalf("embedded NATS must not use the default port, got %s", u)
	}

	nc, err := nats.Connect(u)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "DEVSTACK", Subjects: []string{"devstack.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "devstack.hello", []byte("world")); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "DEVSTACK")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.Data) != "world" || msg.Subject != "devstack.hello" {
		t.Fatalf("read back %q on %q", msg.Data, msg.Subject)
	}
	nc.Close()

	stop()
	stop() // idempotent
	if nc, err := nats.Connect(u, nats.Timeout(time.Second)); err == nil {
		nc.Close()
		t.Fatal("server still accepts connections after stop")
	}
}

func TestNATSFixedPort(t *testing.T) {
	unsetenv(t, "NATS_URL")
	ctx := context.Background()

	port := mustFreePort(t)
	u, stop, err := NATSWithOptions(ctx, t.TempDir(), testLogger(t), NATSOptions{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if got := urlPort(t, u); got != port {
		t.Fatalf("want port %d, got %s", port, u)
	}

	// The port is now taken by the first server: the second falls back.
	u2, stop2, err := NATSWithOptions(ctx, t.TempDir(), testLogger(t), NATSOptions{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer stop2()
	if urlPort(t, u2) == port {
		t.Fatalf("expected a random port when %d is taken, got %s", port, u2)
	}
}

func TestNATSFromEnv(t *testing.T) {
	unsetenv(t, "NATS_URL")
	ctx := context.Background()
	u, stop, err := NATS(ctx, t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	t.Setenv("NATS_URL", u)
	got, stopEnv, err := NATS(ctx, t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	stopEnv() // must not stop a server we did not start
	if got != u {
		t.Fatalf("want %s, got %s", u, got)
	}
	if err := checkJetStream(ctx, u); err != nil {
		t.Fatalf("server stopped by no-op stop: %v", err)
	}

	t.Setenv("NATS_URL", "nats://127.0.0.1:"+strconv.Itoa(mustFreePort(t)))
	if _, _, err := NATS(ctx, t.TempDir(), testLogger(t)); err == nil || !strings.Contains(err.Error(), "NATS_URL") {
		t.Fatalf("want a NATS_URL error for an unreachable server, got %v", err)
	}
}

// TestPostgres uses whatever this machine offers (DATABASE_URL, :5432, or a
// throwaway cluster).
func TestPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn, stop, err := Postgres(ctx, t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	selectOne(t, ctx, dsn)
}

func TestPostgresUnreachableDatabaseURL(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:"+strconv.Itoa(mustFreePort(t))+"/postgres?sslmode=disable")
	_, _, err := Postgres(context.Background(), t.TempDir(), testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("want a DATABASE_URL error, got %v", err)
	}
}

// TestStartCluster exercises the throwaway-cluster path directly (as root it
// goes through runuser), including restarting on an existing data dir.
func TestStartCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir() + "/pg"

	dsn, stop, err := startCluster(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	selectOne(t, ctx, dsn)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var fsync string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v int)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if fsync != "off" {
		t.Errorf("fsync = %s, want off", fsync)
	}
	stop()
	stop() // idempotent
	if err := pingPostgres(ctx, dsn, time.Second); err == nil {
		t.Fatal("cluster still reachable after stop")
	}

	// Reusing the data dir keeps data: `make run` relies on this.
	dsn2, stop2, err := startCluster(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer stop2()
	conn, err = pgx.Connect(ctx, dsn2)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT * FROM kept"); err != nil {
		t.Fatalf("data lost across restart: %v", err)
	}
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"9.6", "15", true}, {"15", "9.6", false}, {"16", "17", true}, {"15", "15", false}} {
		if got := versionLess(c.a, c.b); got != c.want {
			t.Errorf("versionLess(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func selectOne(t *testing.T, ctx context.Context, dsn string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1: %v %d", err, one)
	}
}

func mustFreePort(t *testing.T) int {
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func urlPort(t *testing.T, s string) int {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	_, p, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}
