package testkit_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/treue/treue/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type grant struct {
	dsn, ns string
}

// TestParallelIsolation runs two parallel tests and checks they got distinct
// databases and namespaces, and that both were cleaned up afterwards.
func TestParallelIsolation(t *testing.T) {
	var (
		mu     sync.Mutex
		grants = map[string]grant{}
	)
	t.Run("group", func(t *testing.T) {
		for _, name := range []string{"a", "b"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				g := useResources(t)
				mu.Lock()
				grants[name] = g
				mu.Unlock()
			})
		}
	}) // returns after both subtests and their cleanups finished

	a, b := grants["a"], grants["b"]
	if a.dsn == "" || b.dsn == "" {
		t.Fatal("subtests did not run")
	}
	if dbName(t, a.dsn) == dbName(t, b.dsn) {
		t.Errorf("parallel tests share database %s", dbName(t, a.dsn))
	}
	if a.ns == b.ns {
		t.Errorf("parallel tests share namespace %s", a.ns)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, g := range []grant{a, b} {
		if conn, err := pgx.Connect(ctx, g.dsn); err == nil {
			conn.Close(ctx)
			t.Errorf("database %s still exists after cleanup", dbName(t, g.dsn))
		}
	}
	js := jetStream(t, testkit.NATS(t))
	for _, g := range []grant{a, b} {
		if _, err := js.Stream(ctx, strings.ToUpper(g.ns)+"LEDGER"); !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("stream of namespace %s not deleted: %v", g.ns, err)
		}
	}
}

// useResources exercises a database and a namespace the way service tests do.
func useResources(t *testing.T) grant {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	dsn := testkit.Database(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tables int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("fresh database has %d tables", tables)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE ledger (id bigint PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}

	ns := testkit.Namespace(t)
	if !regexp.MustCompile(`^t[0-9a-f]{8}_$`).MatchString(ns) {
		t.Fatalf("namespace %q has unexpected shape", ns)
	}
	js := jetStream(t, testkit.NATS(t))
	stream := strings.ToUpper(ns) + "LEDGER"
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{ns + "ledger.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, ns+"ledger.points", []byte("10")); err != nil {
		t.Fatal(err)
	}
	return grant{dsn: dsn, ns: ns}
}

func jetStream(t *testing.T, url string) jetstream.JetStream {
	nc, err := nats.Connect(url)
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

func dbName(t *testing.T, dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}
