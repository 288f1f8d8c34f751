package main

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/scripts/internal/stack"
)

// Sourcing dev.env must not change what the next `make run` or `make test` connects to:
// it exports only TREUE_ names that nothing reads as configuration, and says where the
// HTTP pages are.
func TestDevEnvChangesNoConfiguration(t *testing.T) {
	s := &stack.Stack{
		NATSURL:     "nats://127.0.0.1:4333",
		NATSSeeds:   "/srv/treue/.run/nats-seeds",
		DatabaseURL: "postgres://postgres@127.0.0.1:5432/treue?sslmode=disable",
		Keys:        map[string]string{"admin": "treue_admin_x", "pos": "treue_pos_y"},
		Procs:       map[string]*stack.Proc{},
	}
	for i, name := range stack.Services {
		s.Procs[name] = &stack.Proc{Name: name, GRPCAddr: "127.0.0.1:700" + strconv.Itoa(i+1), AdminAddr: "127.0.0.1:900" + strconv.Itoa(i+1)}
	}
	s.Procs["survey"].HTTPAddr, s.Procs["reporting"].HTTPAddr = "127.0.0.1:8082", "127.0.0.1:8085"
	path := filepath.Join(t.TempDir(), "dev.env")
	if err := os.WriteFile(path, []byte(devEnv(s)), 0o600); err != nil {
		t.Fatal(err)
	}

	// What a shell has after `source dev.env`, beyond what it had before.
	// A bare environment: this test may run in a shell that sourced a dev.env itself.
	cmd := exec.Command("bash", "-c", `env -0 | sort -z > "$1.before"; source "$1"; env -0 | sort -z | comm -z -13 "$1.before" -`, "bash", path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sourcing dev.env: %v", err)
	}
	got := map[string]string{}
	for _, kv := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	var names []string
	for k := range got {
		names = append(names, k)
		// TREUE_NAMESPACE is the one TREUE_ name the services read.
		if !strings.HasPrefix(k, "TREUE_") || k == "TREUE_NAMESPACE" {
			t.Errorf("dev.env exports %s, which the services or the tests read as configuration", k)
		}
	}
	sort.Strings(names)
	for k, v := range map[string]string{
		"TREUE_ADMIN_KEY":        "treue_admin_x",
		"TREUE_LEDGER_ADDR":      "127.0.0.1:7001",
		"TREUE_LEDGER_ADMIN_URL": "http://127.0.0.1:9001",
		"TREUE_SURVEY_URL":       "http://127.0.0.1:8082",
		"TREUE_DASHBOARD_URL":    "http://127.0.0.1:8085/",
		"TREUE_NATS_URL":         "nats://127.0.0.1:4333",
		"TREUE_NATS_SEEDS":       "/srv/treue/.run/nats-seeds",
		"TREUE_DATABASE_URL":     s.DatabaseURL,
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (exported: %s)", k, got[k], v, strings.Join(names, " "))
		}
	}
}

func TestOwnStaleNATSURL(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	own := "nats://127.0.0.1:" + strconv.Itoa(port)
	if ownStaleNATSURL(own, port) {
		t.Error("a server answers on the port: the URL is not stale")
	}
	l.Close()
	if !ownStaleNATSURL(own, port) {
		t.Error("nothing on the runner's own port: the URL is stale")
	}
	if ownStaleNATSURL("nats://10.0.0.7:"+strconv.Itoa(port), port) {
		t.Error("another server's URL is never the runner's own")
	}
}

func TestCleanDropsTheDevDatabaseAndTheDataFolder(t *testing.T) {
	dsn := testkit.Database(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	database := strings.TrimPrefix(u.Path, "/")
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("NATS_URL", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE SCHEMA ledger; CREATE TABLE ledger.members (id text)`); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), ".run")
	for _, f := range []string{"dev.env", "survey-token-secret", "logs/ledger.log", "nats/jetstream/x"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// While a session uses the database, nothing is dropped or removed.
	var out bytes.Buffer
	if err := cleanUp(ctx, dir, database, &out); err == nil || !strings.Contains(err.Error(), "open sessions") {
		t.Fatalf("clean with the database in use: %v, want a refusal", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("refused clean removed the data folder: %v", err)
	}
	conn.Close(ctx)

	out.Reset()
	if err := cleanUp(ctx, dir, database, &out); err != nil {
		t.Fatalf("clean: %v", err)
	}
	if exists(t, ctx, dsn, database) {
		t.Errorf("database %s still exists", database)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data folder still there: %v", err)
	}
	for _, want := range []string{"dropped database " + database, "removed " + dir, "starts afresh"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("clean says %q, lacks %q", out.String(), want)
		}
	}

	// Again: nothing left, and it says so.
	out.Reset()
	if err := cleanUp(ctx, dir, database, &out); err != nil {
		t.Fatalf("second clean: %v", err)
	}
	if !strings.Contains(out.String(), "no database "+database) {
		t.Errorf("second clean says %q", out.String())
	}
}

func exists(t *testing.T, ctx context.Context, dsn, database string) bool {
	t.Helper()
	u, _ := url.Parse(dsn)
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, database).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}
