// Package keystore keeps the API keys managed through treue.auth.v1.KeyService in the
// Postgres schema auth (shared by every service), and keeps each process's key ring
// (grpcx.KeyRing) current: a LISTEN on every change, and a poll as the backstop, so a
// created, rotated or revoked key takes effect on every replica within PollInterval at
// worst, and within milliseconds normally.
package keystore

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/pg"
)

// Schema is the Postgres schema of the platform's security data.
const Schema = "auth"

// PollInterval bounds how long a change can take to reach a replica whose notification
// was lost (a dropped LISTEN connection): revocation is effective everywhere within it.
const PollInterval = 5 * time.Second

// channel is the NOTIFY channel of changes (the migration's trigger).
const channel = "treue_api_keys"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the key store's migration set, "keys", in schema auth.
func Migrations() pg.Migration {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // embedded at compile time: a build mistake
	}
	return pg.Migration{Name: "keys", FS: sub}
}

// Open connects to the auth schema (dsn: AUTH_DATABASE_URL, or DATABASE_URL) and
// migrates the key store's set. The pool is the service's one pool of the auth schema:
// one connection listens for key changes, the others serve the key store and, where a
// service has web pages, the staff sign-in.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := pg.Connect(ctx, dsn, Schema, 4)
	if err != nil {
		return nil, err
	}
	// pg.Migrate serialises replicas and services that create the schema together.
	if err := pg.Migrate(ctx, pool, Schema, log, Migrations()); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// Errors of the store.
var (
	ErrNotFound  = errors.New("no such key")
	ErrNameTaken = errors.New("a live key has this name")
	ErrRevoked   = errors.New("key is revoked")
)

// Key is a stored key, never its secret.
type Key struct {
	ID                      string
	Name                    string
	Roles                   []string
	Stores                  []string
	CreatedAt               time.Time
	CreatedBy               string
	ExpiresAt               *time.Time
	RevokedAt               *time.Time
	RotatedAt               *time.Time
	PreviousSecretExpiresAt *time.Time
}

// Store is the key store over the auth schema.
type Store struct {
	pool *pgxpool.Pool
	ring *grpcx.KeyRing
	log  *slog.Logger
	now  func() time.Time
	// Poll is the backstop interval; PollInterval unless a test shortens it.
	Poll time.Duration
}

// New returns the store; it fills ring with the stored keys on Refresh and Run.
func New(pool *pgxpool.Pool, ring *grpcx.KeyRing, log *slog.Logger) *Store {
	return &Store{pool: pool, ring: ring, log: log, now: time.Now, Poll: PollInterval}
}

// NewSecret draws a key's secret: 256 random bits, so a hash without salt or stretching
// is safe (nothing to guess), and lookups stay one map access.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "trk_" + base64.RawURLEncoding.EncodeToString(b)
}

const keyColumns = `id::text, name, roles, stores, created_at, created_by, expires_at, revoked_at, rotated_at, previous_expires_at`

func scanKey(row pgx.Row, extra ...any) (Key, error) {
	var k Key
	err := row.Scan(append([]any{&k.ID, &k.Name, &k.Roles, &k.Stores, &k.CreatedAt, &k.CreatedBy,
		&k.ExpiresAt, &k.RevokedAt, &k.RotatedAt, &k.PreviousSecretExpiresAt}, extra...)...)
	return k, err
}

// Refresh loads every stored key into the ring. Revoked and expired keys are kept, so
// that a refusal can say why.
func (s *Store) Refresh(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+`, secret_hash, previous_hash FROM api_keys`)
	if err != nil {
		return fmt.Errorf("keystore: load keys: %w", err)
	}
	defer rows.Close()
	m := map[string]grpcx.StoredKey{}
	for rows.Next() {
		var hash string
		var prev *string
		k, err := scanKey(rows, &hash, &prev)
		if err != nil {
			return fmt.Errorf("keystore: load keys: %w", err)
		}
		sk := grpcx.StoredKey{Caller: grpcx.Caller{Name: k.Name, Roles: k.Roles, Stores: k.Stores, KeyID: k.ID}}
		if k.ExpiresAt != nil {
			sk.ExpiresAt = *k.ExpiresAt
		}
		if k.RevokedAt != nil {
			sk.RevokedAt = *k.RevokedAt
		}
		m[hash] = sk
		if prev != nil && k.PreviousSecretExpiresAt != nil {
			old := sk
			// the old secret ends with its grace, or with the key if that comes first.
			if old.ExpiresAt.IsZero() || k.PreviousSecretExpiresAt.Before(old.ExpiresAt) {
				old.ExpiresAt = *k.PreviousSecretExpiresAt
			}
			m[*prev] = old
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("keystore: load keys: %w", err)
	}
	s.ring.SetStored(m)
	return nil
}

// Run keeps the ring current until ctx ends: it reloads on every notification and at
// every poll. A lost LISTEN connection is opened again; until then the poll carries on.
func (s *Store) Run(ctx context.Context) {
	changed := make(chan struct{}, 1)
	go s.listen(ctx, changed)
	t := time.NewTicker(s.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed:
		}
		if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("API keys not refreshed; the last ones known stay in force", "err", err)
		}
	}
}

func (s *Store) listen(ctx context.Context, changed chan<- struct{}) {
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, changed)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("listening for API key changes failed; polling meanwhile", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, changed chan<- struct{}) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection carries a LISTEN: it must not go back to the pool for queries.
	pc := conn.Hijack()
	defer pc.Close(context.WithoutCancel(ctx))
	if _, err := pc.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	// A change made while no one listened is caught by a reload now.
	select {
	case changed <- struct{}{}:
	default:
	}
	for {
		if _, err := pc.WaitForNotification(ctx); err != nil {
			return err
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
}

// Actor is who changes a key, for the audit.
type Actor struct {
	Name  string
	KeyID string // "" for a key of API_KEYS
}

// NewKey is what a new key is made of.
type NewKey struct {
	Name      string
	Roles     []string
	Stores    []string
	ExpiresAt *time.Time
}

// Create stores a new key and returns it with its secret.
func (s *Store) Create(ctx context.Context, by Actor, nk NewKey) (Key, string, error) {
	secret := NewSecret()
	id, err := newID()
	if err != nil {
		return Key{}, "", err
	}
	if nk.Stores == nil {
		nk.Stores = []string{}
	}
	var k Key
	err = pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		k, err = scanKey(tx.QueryRow(ctx, `
			INSERT INTO api_keys (id, name, roles, stores, secret_hash, created_at, created_by, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+keyColumns,
			id, nk.Name, nk.Roles, nk.Stores, grpcx.HashKey(secret), s.now().UTC(), by.Name, nk.ExpiresAt))
		if pg.IsUniqueViolation(err, "api_keys_live_name") {
			return ErrNameTaken
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), by, "create", k.ID, map[string]any{
			"name": k.Name, "roles": k.Roles, "stores": k.Stores, "expires_at": k.ExpiresAt})
	})
	if err != nil {
		return Key{}, "", err
	}
	s.refreshSoon(ctx)
	return k, secret, nil
}

// List returns the stored keys, newest first; revoked ones only when asked.
func (s *Store) List(ctx context.Context, includeRevoked bool) ([]Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE $1 OR revoked_at IS NULL ORDER BY created_at DESC, id`, includeRevoked)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Rotate gives a key a new secret; the old one keeps working for grace (0: not at all).
func (s *Store) Rotate(ctx context.Context, by Actor, id string, grace time.Duration) (Key, string, error) {
	secret := NewSecret()
	now := s.now().UTC()
	var prevUntil *time.Time
	if grace > 0 {
		t := now.Add(grace)
		prevUntil = &t
	}
	var k Key
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		k, err = scanKey(tx.QueryRow(ctx, `
			UPDATE api_keys SET
				previous_hash = CASE WHEN $3::timestamptz IS NULL THEN NULL ELSE secret_hash END,
				previous_expires_at = $3, secret_hash = $2, rotated_at = $4
			WHERE id = $1 AND revoked_at IS NULL RETURNING `+keyColumns,
			id, grpcx.HashKey(secret), prevUntil, now))
		if errors.Is(err, pgx.ErrNoRows) {
			return s.missing(ctx, tx, id)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, now, by, "rotate", k.ID, map[string]any{"grace": grace.String()})
	})
	if err != nil {
		return Key{}, "", err
	}
	s.refreshSoon(ctx)
	return k, secret, nil
}

// Revoke ends a key, and any old secret of it in its grace period. Revoking a revoked
// key returns it unchanged.
func (s *Store) Revoke(ctx context.Context, by Actor, id, reason string) (Key, error) {
	now := s.now().UTC()
	var k Key
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		k, err = scanKey(tx.QueryRow(ctx, `
			UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING `+keyColumns, id, now))
		if errors.Is(err, pgx.ErrNoRows) {
			if err := s.missing(ctx, tx, id); !errors.Is(err, ErrRevoked) {
				return err
			}
			k, err = scanKey(tx.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id))
			return err
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, now, by, "revoke", k.ID, map[string]any{"reason": reason})
	})
	if err != nil {
		return Key{}, err
	}
	s.refreshSoon(ctx)
	return k, nil
}

// missing says why key id matched no live row.
func (s *Store) missing(ctx context.Context, tx pgx.Tx, id string) error {
	var revoked bool
	err := tx.QueryRow(ctx, `SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1`, id).Scan(&revoked)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case revoked:
		return ErrRevoked
	}
	return ErrNotFound
}

// refreshSoon reloads this process's ring after its own change, without waiting for
// the notification; other replicas get theirs.
func (s *Store) refreshSoon(ctx context.Context) {
	if err := s.Refresh(context.WithoutCancel(ctx)); err != nil {
		s.log.Warn("API keys not refreshed after a change", "err", err)
	}
}

func audit(ctx context.Context, tx pgx.Tx, at time.Time, by Actor, action, keyID string, detail map[string]any) error {
	var actorKey *string
	if by.KeyID != "" {
		actorKey = &by.KeyID
	}
	_, err := tx.Exec(ctx, `INSERT INTO api_key_audit (at, actor, actor_key_id, action, key_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`, at.UTC(), by.Name, actorKey, action, keyID, detail)
	return err
}

// AuditEntry is one audited change.
type AuditEntry struct {
	At     time.Time
	Actor  string
	Action string
	KeyID  string
	Detail map[string]any
}

// Audit returns the audited changes of a key, oldest first.
func (s *Store) Audit(ctx context.Context, keyID string) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, actor, action, key_id::text, detail FROM api_key_audit
		WHERE key_id = $1 ORDER BY id`, keyID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := r.Scan(&e.At, &e.Actor, &e.Action, &e.KeyID, &e.Detail)
		return e, err
	})
}

func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}
