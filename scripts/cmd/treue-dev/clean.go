package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/devstack"
)

// cleanUp is `make clean`: it drops the dev database (and with it the five schemas and
// their data) from the server `make run` uses, stops a throwaway Postgres left running
// in dir, and removes dir: the NATS store, the logs, the traces, the API keys and the
// survey link secret. The next `make run` starts afresh.
func cleanUp(ctx context.Context, dir, database string, out io.Writer) error {
	if pid, ok := runnerAlive(dir); ok {
		return fmt.Errorf("`make run` is still running here (pid %d): stop it with Ctrl-C first", pid)
	}
	// DATABASE_URL as it is, not through PostgresServer, which connects to the database it
	// names: that may be the one already dropped. dropDevDatabase connects to "postgres".
	var err error
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		dsn, err = devstack.PostgresServer(ctx, slog.New(slog.DiscardHandler))
	}
	throwaway := errors.Is(err, devstack.ErrNoPostgresServer)
	switch {
	case throwaway:
		// Then `make run` used a throwaway cluster inside dir, which goes with it.
	case err != nil:
		return fmt.Errorf("%w; nothing removed", err)
	default:
		dropped, err := dropDevDatabase(ctx, dsn, database)
		if err != nil {
			return err
		}
		if dropped {
			fmt.Fprintf(out, "Treue: dropped database %s on %s (every service's schema and data).\n", database, serverName(dsn))
		} else {
			fmt.Fprintf(out, "Treue: no database %s on %s: nothing to drop.\n", database, serverName(dsn))
		}
	}
	if err := stopClusters(dir); err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		what := "NATS store, logs, traces, API keys, survey link secret"
		if throwaway {
			what += ", the throwaway Postgres with the dev database"
		}
		fmt.Fprintf(out, "Treue: removed %s (%s).\n", dir, what)
	}
	if u := os.Getenv("NATS_URL"); u != "" {
		fmt.Fprintf(out, "Treue: NATS at NATS_URL (%s) is not this checkout's: its streams are left as they are.\n", u)
	}
	fmt.Fprintln(out, "Treue: the next `make run` starts afresh.")
	return nil
}

// dropDevDatabase drops database from the server of dsn and reports whether it existed.
// It refuses while anyone is connected to it: a `make run` of another checkout may be
// using it, and dropping it WITH (FORCE) would pull the floor from under it.
func dropDevDatabase(ctx context.Context, dsn, database string) (bool, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return false, err
	}
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return false, fmt.Errorf("connecting to Postgres on %s: %w; nothing removed", serverName(dsn), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	var sessions int
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1),
		(SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid())`, database).Scan(&exists, &sessions); err != nil {
		return false, err
	}
	if !exists {
		return false, nil
	}
	if sessions > 0 {
		return false, fmt.Errorf("database %s on %s has %d open sessions (a `make run` elsewhere?): stop them first; nothing removed",
			database, serverName(dsn), sessions)
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{database}.Sanitize()); err != nil {
		return false, fmt.Errorf("dropping database %s: %w", database, err)
	}
	return true, nil
}

// serverName is the host and port of dsn, without credentials.
func serverName(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		return "the server of DATABASE_URL"
	}
	return u.Host
}

// markRunning records this runner's pid in dir, so that `make clean` does not remove a
// running system's data; release removes the record.
func markRunning(dir string) (release func(), err error) {
	path := filepath.Join(dir, "treue-dev.pid")
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, err
	}
	return func() { os.Remove(path) }, nil
}

// runnerAlive reports the pid of a runner still running on dir.
func runnerAlive(dir string) (int, bool) {
	pid, ok := pidFromFile(filepath.Join(dir, "treue-dev.pid"))
	return pid, ok && processIs(pid, "treue-dev")
}

// stopClusters stops a throwaway Postgres still running in dir (left by a runner that was
// killed), so that its files are not removed under it: `make run`'s at dir/postgres,
// `make bench`'s at dir/bench/postgres.
func stopClusters(dir string) error {
	files, _ := filepath.Glob(filepath.Join(dir, "postgres", "postmaster.pid"))
	more, _ := filepath.Glob(filepath.Join(dir, "*", "postgres", "postmaster.pid"))
	for _, f := range append(files, more...) {
		pid, ok := pidFromFile(f)
		if !ok || !processIs(pid, "postgres") {
			continue
		}
		// SIGINT is Postgres's fast shutdown: sessions end, the cluster stops cleanly.
		if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
			return fmt.Errorf("stopping the Postgres cluster in %s: %w", filepath.Dir(f), err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for processIs(pid, "postgres") {
			if time.Now().After(deadline) {
				return fmt.Errorf("the Postgres cluster in %s (pid %d) did not stop within 30 s", filepath.Dir(f), pid)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// pidFromFile reads the pid on the first line of path.
func pidFromFile(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	return pid, err == nil && pid > 0
}

// processIs reports whether pid is a live process whose command is name; a pid file
// outlives its process, and the pid may since belong to something else.
func processIs(pid int, name string) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return false
	}
	if strings.TrimSpace(string(b)) != name {
		return false
	}
	// A zombie keeps its comm until reaped; it is not running.
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	return true
}
