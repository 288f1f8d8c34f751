// Package devstack finds or starts the backing services Treue needs for
// development and tests (Postgres and a NATS server with JetStream), so that
// `make run` and `go test` work on any machine without manual setup.
package devstack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// localPostgresDSN is the conventional developer setup: a server on the
// default port with trust auth for the postgres superuser.
const localPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Postgres returns a DSN for a reachable Postgres superuser connection.
//
// It tries, in order:
//  1. $DATABASE_URL, if set; an unreachable DATABASE_URL is an error rather
//     than a reason to fall back, because the caller asked for that server.
//  2. A server already listening on 127.0.0.1:5432 (user postgres, trust
//     auth, database postgres).
//  3. A throwaway cluster in dataDir, started with the local Postgres
//     binaries (installed with apt-get if missing and running as root).
//     If dataDir already holds a cluster it is reused, so data survives
//     restarts.
//
// stop shuts the cluster down if this call started it and is a no-op
// otherwise. It is safe to call more than once.
func Postgres(ctx context.Context, dataDir string, log *slog.Logger) (dsn string, stop func(), err error) {
	log = orDiscard(log)
	dsn, err = PostgresServer(ctx, log)
	if err == nil {
		return dsn, func() {}, nil
	}
	if !errors.Is(err, ErrNoPostgresServer) {
		return "", nil, err
	}
	return startCluster(ctx, dataDir, log)
}

// ErrNoPostgresServer says that DATABASE_URL is unset and nothing answers on
// 127.0.0.1:5432.
var ErrNoPostgresServer = errors.New("no Postgres server: DATABASE_URL is unset and nothing answers on 127.0.0.1:5432")

// PostgresServer returns the DSN of the server Postgres would use, without starting a
// cluster: $DATABASE_URL, or the one on 127.0.0.1:5432. It returns ErrNoPostgresServer
// when there is neither, so that a clean-up can tell "nothing to drop" from a failure.
func PostgresServer(ctx context.Context, log *slog.Logger) (string, error) {
	log = orDiscard(log)
	if url := os.Getenv("DATABASE_URL"); url != "" {
		if err := pingPostgres(ctx, url, 10*time.Second); err != nil {
			return "", fmt.Errorf("DATABASE_URL is set but Postgres is unreachable: %w", err)
		}
		log.Debug("using Postgres from DATABASE_URL")
		return url, nil
	}
	if err := pingPostgres(ctx, localPostgresDSN, 3*time.Second); err != nil {
		log.Debug("no usable Postgres on 127.0.0.1:5432", "err", err)
		return "", ErrNoPostgresServer
	}
	log.Debug("using Postgres on 127.0.0.1:5432")
	return localPostgresDSN, nil
}

// pingPostgres connects once and pings, so callers get a clear error instead
// of the first query failing later.
func pingPostgres(ctx context.Context, dsn string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// pgCluster drives a local cluster through the Postgres command-line tools.
type pgCluster struct {
	bin     string // directory holding initdb, pg_ctl and postgres
	dataDir string // absolute PGDATA
	log     *slog.Logger
	// wrap is prepended to every command so it runs as the postgres OS user;
	// empty when we are not root. initdb and postgres refuse to run as root.
	wrap []string
	uid  int
	gid  int
}

// settingsFile is rewritten on every start and included from
// postgresql.conf, so the port and socket dir can change between runs
// without accumulating edits in postgresql.conf itself.
const settingsFile = "treue_devstack.conf"

// startCluster starts (initialising first if needed) a cluster in dataDir on
// a free loopback port and returns its DSN.
func startCluster(ctx context.Context, dataDir string, log *slog.Logger) (dsn string, stop func(), err error) {
	log = orDiscard(log)
	if dataDir == "" {
		return "", nil, errors.New("devstack: Postgres dataDir is empty")
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", nil, err
	}
	bin, err := findPostgresBin()
	if err != nil {
		if os.Geteuid() != 0 {
			return "", nil, err
		}
		if err := installPostgres(ctx, log); err != nil {
			return "", nil, err
		}
		if bin, err = findPostgresBin(); err != nil {
			return "", nil, fmt.Errorf("after installing postgresql: %w", err)
		}
	}
	c := &pgCluster{bin: bin, dataDir: abs, log: log, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		if err := c.setupRunAs(); err != nil {
			return "", nil, err
		}
	}
	if err := c.prepareDir(); err != nil {
		return "", nil, err
	}

	if _, err := os.Stat(filepath.Join(abs, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return "", nil, err
		}
	} else if err != nil {
		return "", nil, err
	} else if port, ok := c.runningPort(ctx); ok {
		// Left running by an earlier process (e.g. an interrupted `make run`):
		// reuse it, but leave stopping it to whoever started it.
		dsn := clusterDSN(port)
		log.Info("reusing running Postgres cluster", "dir", abs, "port", port)
		return dsn, func() {}, pingPostgres(ctx, dsn, 10*time.Second)
	}

	var port int
	for attempt := 0; ; attempt++ {
		if port, err = freePort(); err != nil {
			return "", nil, err
		}
		if err = c.writeSettings(port); err != nil {
			return "", nil, err
		}
		log.Info("starting throwaway Postgres cluster", "dir", abs, "port", port, "bin", bin)
		err = c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", abs, "-l", c.logFile())
		if err == nil {
			break
		}
		// Another process may grab the port between freePort and bind.
		if attempt < 2 && strings.Contains(c.logTail(), "already in use") {
			continue
		}
		return "", nil, fmt.Errorf("starting Postgres: %w\n%s", err, c.logTail())
	}

	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := c.run(ctx, "pg_ctl", "stop", "-w", "-m", "fast", "-D", abs); err != nil {
				log.Error("stopping Postgres cluster", "dir", abs, "err", err)
				return
			}
			log.Info("stopped Postgres cluster", "dir", abs)
		})
	}

	dsn = clusterDSN(port)
	if err := waitPostgres(ctx, dsn); err != nil {
		stop()
		return "", nil, err
	}
	return dsn, stop, nil
}

func clusterDSN(port int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// waitPostgres retries briefly: pg_ctl -w reports ready from postmaster.pid,
// which can precede the TCP listener accepting trust logins by a moment.
func waitPostgres(ctx context.Context, dsn string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := pingPostgres(ctx, dsn, 2*time.Second)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("Postgres did not become ready: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// findPostgresBin returns a directory containing initdb, pg_ctl and postgres
// of one version: PATH first (a deliberate choice by the user), then the
// Debian/Ubuntu layout, newest major version first. Debian does not put these
// on PATH.
func findPostgresBin() (string, error) {
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
		if r, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(r))
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		return versionLess(filepath.Base(filepath.Dir(dirs[j])), filepath.Base(filepath.Dir(dirs[i])))
	})
	candidates = append(candidates, dirs...)
	for _, dir := range candidates {
		if hasExecutables(dir, "initdb", "pg_ctl", "postgres") {
			return dir, nil
		}
	}
	return "", errors.New("no Postgres server binaries (initdb, pg_ctl, postgres) found on PATH or in /usr/lib/postgresql/*/bin; " +
		"install them (Debian/Ubuntu: `sudo apt-get install -y postgresql`, macOS: `brew install postgresql`) " +
		"or set DATABASE_URL to an existing server")
}

// versionLess compares dotted numeric versions like "9.6" < "15".
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func hasExecutables(dir string, names ...string) bool {
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// installPostgres is only attempted as root, where a dev container or CI box
// is the likely setting and installing is what the user would do by hand.
func installPostgres(ctx context.Context, log *slog.Logger) error {
	if _, err := exec.LookPath("apt-get"); err != nil {
		_, ferr := findPostgresBin()
		return ferr
	}
	return aptGetInstall(ctx, log, "postgresql")
}

// aptGetInstall installs Debian packages. It waits for the package database's lock,
// because test binaries of several packages may install at the same time.
func aptGetInstall(ctx context.Context, log *slog.Logger, packages ...string) error {
	lock := []string{"-o", "DPkg::Lock::Timeout=600"}
	for _, args := range [][]string{{"update"}, append([]string{"install", "-y"}, packages...)} {
		args = append(append([]string{}, lock...), args...)
		log.Info("installing "+strings.Join(packages, " "), "cmd", "apt-get "+strings.Join(args, " "))
		fmt.Fprintf(os.Stderr, "devstack: running apt-get %s\n", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", strings.Join(args, " "), err)
		}
	}
	return nil
}

// setupRunAs arranges for commands to run as the postgres OS user, because
// initdb and postgres refuse to run as root.
func (c *pgCluster) setupRunAs() error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root, but Postgres refuses to run as root and there is no 'postgres' OS user to run it as "+
			"(create one with `useradd --system --create-home postgres`, or set DATABASE_URL): %w", err)
	}
	c.uid, _ = strconv.Atoi(u.Uid)
	c.gid, _ = strconv.Atoi(u.Gid)
	if p, err := exec.LookPath("runuser"); err == nil {
		c.wrap = []string{p, "-u", "postgres", "--"}
		return nil
	}
	if p, err := exec.LookPath("setpriv"); err == nil {
		c.wrap = []string{p, "--reuid=" + u.Uid, "--regid=" + u.Gid, "--init-groups", "--"}
		return nil
	}
	return errors.New("running as root: need runuser or setpriv to run Postgres as the 'postgres' user (install util-linux), or set DATABASE_URL")
}

// prepareDir creates dataDir and, when running as root, hands it to the
// postgres user and makes sure that user can reach it.
func (c *pgCluster) prepareDir() error {
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return err
	}
	if c.wrap == nil {
		return nil
	}
	// Temp dirs (t.TempDir, os.MkdirTemp) and /root are 0700, which would
	// stop the postgres user from reaching dataDir. Grant search-only (o+x)
	// access on such ancestors: it does not allow listing them.
	for dir := filepath.Dir(c.dataDir); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if !c.canSearch(fi) {
			c.log.Info("granting the postgres user search access", "dir", dir)
			if err := os.Chmod(dir, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("making %s reachable for the postgres user: %w", dir, err)
			}
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	return filepath.WalkDir(c.dataDir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, c.uid, c.gid)
	})
}

func (c *pgCluster) canSearch(fi fs.FileInfo) bool {
	uid, gid, ok := fileOwner(fi)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case uid == c.uid:
		return perm&0o100 != 0
	case gid == c.gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

func (c *pgCluster) initdb(ctx context.Context) error {
	c.log.Info("initialising Postgres cluster", "dir", c.dataDir)
	// --no-sync: a throwaway dev cluster is not worth the fsyncs.
	if err := c.run(ctx, "initdb", "-D", c.dataDir, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(c.dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "\n# Added by treue devstack.\ninclude_if_exists = '%s'\n", settingsFile)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (c *pgCluster) writeSettings(port int) error {
	// Keep the socket out of /var/run/postgresql (may not exist or be
	// writable, and would clash with a system server). Unix socket paths are
	// limited to 107 bytes; we connect over TCP, so just disable the socket
	// if the path is too long.
	sockDir := c.dataDir
	if len(sockDir)+len("/.s.PGSQL.")+len(strconv.Itoa(port)) >= 107 {
		sockDir = ""
	}
	conf := fmt.Sprintf(`# Rewritten by treue devstack on every start.
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
`, port, strings.ReplaceAll(sockDir, "'", "''"))
	path := filepath.Join(c.dataDir, settingsFile)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return err
	}
	if c.wrap != nil {
		return os.Chown(path, c.uid, c.gid)
	}
	return nil
}

// runningPort reports the port of a postmaster already running on dataDir.
func (c *pgCluster) runningPort(ctx context.Context) (int, bool) {
	if err := c.run(ctx, "pg_ctl", "status", "-D", c.dataDir); err != nil {
		return 0, false
	}
	data, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	// Line 4 of postmaster.pid is the port.
	lines := strings.Split(string(data), "\n")
	if len(lines) < 4 {
		return 0, false
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	return port, err == nil
}

func (c *pgCluster) logFile() string { return filepath.Join(c.dataDir, "postgres.log") }

// logTail returns the last lines of the server log, where startup errors are.
func (c *pgCluster) logTail() string {
	data, err := os.ReadFile(c.logFile())
	if err != nil {
		return ""
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// run executes one of the Postgres tools (as the postgres user if needed) and
// folds its output into the error.
func (c *pgCluster) run(ctx context.Context, prog string, args ...string) error {
	argv := append(append(append([]string{}, c.wrap...), filepath.Join(c.bin, prog)), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// The postgres user may not be able to read our working directory.
	cmd.Dir = c.dataDir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	c.log.Debug("running", "cmd", strings.Join(argv, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", prog, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// freePort asks the kernel for an unused loopback port. Racy by nature; the
// caller retries on "address already in use".
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
