// Package staff signs staff members in to Treue's web pages: accounts with roles and
// argon2id password hashes, server-side sessions behind a cookie, lockout after repeated
// failures (per user name and per client address, kept in Postgres so replicas agree),
// the login page and the middleware that guards a page (Web.RequireStaff).
//
// Everything lives in the Postgres schema "auth", in its own migration set "staff".
// Accounts are local; single sign-on (OIDC) would be a second way to obtain the same
// session (see Web), leaving the middleware and the pages as they are.
package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/staff/migrations"
)

// Schema is the Postgres schema of platform security data.
const Schema = "auth"

// Roles a staff member may hold.
var Roles = []string{"admin", "marketing", "service_agent", "auditor"}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

// Errors of the store.
var (
	ErrExists          = errors.New("staff: an account of that name exists")
	ErrNotFound        = errors.New("staff: no such account")
	ErrBadCredentials  = errors.New("staff: wrong user name or password")
	ErrLocked          = errors.New("staff: too many failed sign-ins; locked for now")
	ErrNoSession       = errors.New("staff: no valid session")
	errMalformedCookie = errors.New("staff: malformed session id")
)

// Account is a staff member as the store reports it; the hash never leaves the store.
type Account struct {
	Username  string
	Roles     []string
	CreatedAt time.Time
	Disabled  bool
}

// Has reports whether the account holds one of roles (any role when none is given).
func (a Account) Has(roles ...string) bool {
	if len(roles) == 0 {
		return true
	}
	for _, r := range a.Roles {
		if slices.Contains(roles, r) {
			return true
		}
	}
	return false
}

// Store keeps accounts, sessions and failed sign-ins in the auth schema.
type Store struct {
	pool *pgxpool.Pool
	cfg  Config
}

// Open connects to cfg.DatabaseURL and returns the store on a pool of its own (the
// command-line tools); Close releases the pool.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("staff store: no database URL (AUTH_DATABASE_URL or the service's DATABASE_URL)")
	}
	pool, err := pg.Connect(ctx, cfg.DatabaseURL, Schema, 4)
	if err != nil {
		return nil, fmt.Errorf("staff store: %w", err)
	}
	s, err := New(ctx, pool, cfg, log)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// New migrates the set "staff" in the auth schema on pool and returns the store; a
// service passes the pool its runtime keeps for the auth schema (svc.Runtime.AuthPool).
// cfg.DatabaseURL is not read.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config, log *slog.Logger) (*Store, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := pg.Migrate(ctx, pool, Schema, log, pg.Migration{Name: "staff", FS: migrations.FS}); err != nil {
		return nil, err
	}
	return &Store{pool: pool, cfg: cfg}, nil
}

// Close releases the store's pool; only for a store made by Open.
func (s *Store) Close() { s.pool.Close() }

// Config is the store's configuration with defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// Ping checks the database.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// NormalizeUsername lower-cases and trims a user name and checks its form.
func NormalizeUsername(username string) (string, error) {
	u := strings.ToLower(strings.TrimSpace(username))
	if !usernamePattern.MatchString(u) {
		return "", errors.New("username: 1-64 of a-z, 0-9, '.', '_', '@', '-', starting with a letter or digit")
	}
	return u, nil
}

// CheckRoles says which role is unknown, or that there is none.
func CheckRoles(roles []string) error {
	if len(roles) == 0 {
		return fmt.Errorf("roles: at least one of %s", strings.Join(Roles, ", "))
	}
	for _, r := range roles {
		if !slices.Contains(Roles, r) {
			return fmt.Errorf("roles: unknown role %q (roles: %s)", r, strings.Join(Roles, ", "))
		}
	}
	return nil
}

// Create adds an account. It fails with ErrExists when the name is taken.
func (s *Store) Create(ctx context.Context, username string, roles []string, password string) (Account, error) {
	u, err := NormalizeUsername(username)
	if err != nil {
		return Account{}, err
	}
	if err := CheckRoles(roles); err != nil {
		return Account{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return Account{}, err
	}
	now := s.cfg.Now()
	_, err = s.pool.Exec(ctx, `INSERT INTO staff_accounts (username, roles, password_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4)`, u, slices.Compact(slices.Sorted(slices.Values(roles))), hash, now)
	if pg.IsUniqueViolation(err, "") {
		return Account{}, ErrExists
	}
	if err != nil {
		return Account{}, fmt.Errorf("staff: create %s: %w", u, err)
	}
	return Account{Username: u, Roles: roles, CreatedAt: now}, nil
}

// SetPassword replaces an account's password and ends its sessions.
func (s *Store) SetPassword(ctx context.Context, username, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.update(ctx, username, `UPDATE staff_accounts SET password_hash = $3, updated_at = $2 WHERE username = $1`, hash)
}

// Disable stops an account from signing in and ends its sessions.
func (s *Store) Disable(ctx context.Context, username string) error {
	return s.update(ctx, username, `UPDATE staff_accounts SET disabled_at = coalesce(disabled_at, $2), updated_at = $2 WHERE username = $1`)
}

// update runs query ($1 the user name, $2 now, then args) and ends the account's sessions.
func (s *Store) update(ctx context.Context, username, query string, args ...any) error {
	u, err := NormalizeUsername(username)
	if err != nil {
		return err
	}
	return pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, query, append([]any{u, s.cfg.Now()}, args...)...)
		if err != nil {
			return fmt.Errorf("staff: update %s: %w", u, err)
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		_, err = tx.Exec(ctx, `DELETE FROM staff_sessions WHERE username = $1`, u)
		return err
	})
}

// List returns every account by name.
func (s *Store) List(ctx context.Context) ([]Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT username, roles, created_at, disabled_at IS NOT NULL FROM staff_accounts ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("staff: list: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Account, error) {
		var a Account
		err := r.Scan(&a.Username, &a.Roles, &a.CreatedAt, &a.Disabled)
		return a, err
	})
}

// SignIn checks a user name and password from client (its address, for the per-address
// lockout) and opens a session: it returns the session id for the cookie. It fails with
// ErrLocked while the name or the address is locked, and ErrBadCredentials for a wrong
// name or password, after the same work for an unknown name as for a known one.
func (s *Store) SignIn(ctx context.Context, username, password, client string) (string, Account, error) {
	now := s.cfg.Now()
	u, nameErr := NormalizeUsername(username)
	if nameErr != nil {
		// Counted under what was typed, so a flood of bad names still locks; as text
		// Postgres takes (valid UTF-8, no NUL): no account has such a name anyway.
		u = strings.ReplaceAll(strings.ToValidUTF8(username, "\uFFFD"), "\x00", "\uFFFD")
	}
	ip := clientKey(client)
	var locked bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM staff_login_failures
		WHERE ((scope = 'user' AND key = $1) OR (scope = 'ip' AND key = $2)) AND locked_until > $3)`, u, ip, now).Scan(&locked)
	if err != nil {
		return "", Account{}, fmt.Errorf("staff: sign-in: %w", err)
	}
	if locked {
		return "", Account{}, ErrLocked
	}
	var (
		acct     Account
		hash     string
		disabled bool
	)
	err = s.pool.QueryRow(ctx, `SELECT username, roles, created_at, password_hash, disabled_at IS NOT NULL
		FROM staff_accounts WHERE username = $1`, u).Scan(&acct.Username, &acct.Roles, &acct.CreatedAt, &hash, &disabled)
	known := err == nil && nameErr == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", Account{}, fmt.Errorf("staff: sign-in: %w", err)
	}
	if !known || disabled {
		hash = dummyHash()
	}
	ok, verr := VerifyPassword(hash, password)
	if verr != nil {
		return "", Account{}, fmt.Errorf("staff: sign-in %s: %w", u, verr)
	}
	if !ok || !known || disabled {
		if err := s.fail(ctx, u, ip, now); err != nil {
			return "", Account{}, err
		}
		return "", Account{}, ErrBadCredentials
	}
	id, err := s.openSession(ctx, u, now)
	if err != nil {
		return "", Account{}, err
	}
	return id, acct, nil
}

// fail records a failed sign-in against the name and the address, locking either once
// it reaches its limit within the window.
func (s *Store) fail(ctx context.Context, user, ip string, now time.Time) error {
	windowStart, until := now.Add(-s.cfg.LockoutWindow), now.Add(s.cfg.LockoutDuration)
	return pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		for _, f := range []struct {
			scope, key string
			limit      int
		}{{"user", user, s.cfg.MaxFailures}, {"ip", ip, s.cfg.MaxFailuresPerIP}} {
			_, err := tx.Exec(ctx, `INSERT INTO staff_login_failures AS f (scope, key, failures, first_at, locked_until)
				VALUES ($1, $2, 1, $3, CASE WHEN $4::int <= 1 THEN $6::timestamptz END)
				ON CONFLICT (scope, key) DO UPDATE SET
					failures = CASE WHEN f.first_at <= $5 THEN 1 ELSE f.failures + 1 END,
					first_at = CASE WHEN f.first_at <= $5 THEN $3 ELSE f.first_at END,
					locked_until = CASE WHEN (CASE WHEN f.first_at <= $5 THEN 1 ELSE f.failures + 1 END) >= $4
						THEN $6 ELSE f.locked_until END`,
				f.scope, f.key, now, f.limit, windowStart, until)
			if err != nil {
				return fmt.Errorf("staff: record failed sign-in: %w", err)
			}
		}
		// A success clears only the name's count: an address that guessed one account
		// right must not reset its count against the others.
		return nil
	})
}

func (s *Store) openSession(ctx context.Context, user string, now time.Time) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM staff_login_failures WHERE scope = 'user' AND key = $1`, user); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO staff_sessions (id_hash, username, created_at, last_seen_at, expires_at)
			VALUES ($1, $2, $3, $3, $4)`, hashID(raw), user, now, now.Add(s.cfg.SessionTTL))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("staff: open session: %w", err)
	}
	return id, nil
}

// touchEvery is how stale last_seen_at may get before a request writes it: the idle
// timeout is approximate by this much, and a busy page does not write on every request.
const touchEvery = time.Minute

// Session returns the account of a live session: not past its lifetime, used within
// the idle timeout, its account not disabled. It fails with ErrNoSession otherwise.
func (s *Store) Session(ctx context.Context, id string) (Account, error) {
	raw, err := decodeID(id)
	if err != nil {
		return Account{}, ErrNoSession
	}
	now := s.cfg.Now()
	var (
		a        Account
		lastSeen time.Time
	)
	err = s.pool.QueryRow(ctx, `SELECT a.username, a.roles, a.created_at, s.last_seen_at
		FROM staff_sessions s JOIN staff_accounts a USING (username)
		WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND a.disabled_at IS NULL`,
		hashID(raw), now, now.Add(-s.cfg.IdleTimeout)).Scan(&a.Username, &a.Roles, &a.CreatedAt, &lastSeen)
	if errors.Is(err, pgx.ErrNoRows) {
		return Account{}, ErrNoSession
	}
	if err != nil {
		return Account{}, fmt.Errorf("staff: session: %w", err)
	}
	if now.Sub(lastSeen) >= touchEvery {
		if _, err := s.pool.Exec(ctx, `UPDATE staff_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2`, hashID(raw), now); err != nil {
			return Account{}, fmt.Errorf("staff: session: %w", err)
		}
	}
	return a, nil
}

// SignOut ends a session; an unknown one is no error.
func (s *Store) SignOut(ctx context.Context, id string) error {
	raw, err := decodeID(id)
	if err != nil {
		return nil
	}
	_, err = s.pool.Exec(ctx, `DELETE FROM staff_sessions WHERE id_hash = $1`, hashID(raw))
	return err
}

// Prune deletes ended sessions and failure counts past their window and lock; it
// returns how many rows went.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	now := s.cfg.Now()
	a, err := s.pool.Exec(ctx, `DELETE FROM staff_sessions WHERE expires_at <= $1 OR last_seen_at <= $2`, now, now.Add(-s.cfg.IdleTimeout))
	if err != nil {
		return 0, err
	}
	b, err := s.pool.Exec(ctx, `DELETE FROM staff_login_failures WHERE first_at <= $1 AND (locked_until IS NULL OR locked_until <= $2)`,
		now.Add(-s.cfg.LockoutWindow), now)
	if err != nil {
		return 0, err
	}
	return a.RowsAffected() + b.RowsAffected(), nil
}

func decodeID(id string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) != 32 {
		return nil, errMalformedCookie
	}
	return raw, nil
}

func hashID(raw []byte) []byte {
	sum := sha256.Sum256(raw)
	return sum[:]
}

// clientKey is the address a lockout counts against: the host of a remote address, and
// for IPv6 its /64, which one client usually holds whole.
func clientKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// Pruner deletes ended sessions and stale failure counts every interval until ctx ends
// (for svc.Runtime.Background).
func (s *Store) Pruner(every time.Duration, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if n, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				log.Warn("staff: pruning sessions failed; will retry", "err", err)
			} else if n > 0 {
				log.Info("staff: sessions and failure counts pruned", "rows", n)
			}
		}
	}
}
