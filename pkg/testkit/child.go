package testkit

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// StartChild starts this test binary again as a child process (running no test) with the
// test's environment plus vars, and kills it when the test ends. A test package whose
// init runs a service when a variable of vars is set (svc.Main) gets a real service
// process that a test can kill with SIGKILL and start again.
func StartChild(t testing.TB, vars ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), vars...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// ChildVars is the environment that puts a service of prefix (SURVEY, FEEDBACK, ...) in
// the test's world: its database, NATS server, namespace and API keys, its gRPC address,
// any free port for HTTP and admin, and warnings only in its log.
func (e *Env) ChildVars(prefix, grpcAddr string) []string {
	b := e.Base()
	return []string{
		"DATABASE_URL=" + b.DatabaseURL, "NATS_URL=" + b.NATSURL, "TREUE_NAMESPACE=" + b.Namespace, "API_KEYS=" + b.APIKeys,
		prefix + "_GRPC_ADDR=" + grpcAddr, prefix + "_HTTP_ADDR=127.0.0.1:0", prefix + "_ADMIN_ADDR=127.0.0.1:0",
		"LOG_LEVEL=warn",
	}
}

// WaitMigrated waits until every migration of migrations is applied to schema (goose's
// table goose_<schema>): a test that writes while a later migration alters the tables
// deadlocks with it.
func WaitMigrated(t testing.TB, conn *pgx.Conn, schema string, migrations fs.FS) {
	t.Helper()
	files, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	table := pgx.Identifier{schema, "goose_" + strings.ReplaceAll(schema, ".", "_")}.Sanitize()
	Eventually(t, 60*time.Second, "the "+schema+" schema migrated", func() bool {
		var applied int
		return conn.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE is_applied AND version_id > 0`).
			Scan(&applied) == nil && applied == len(files)
	})
}
