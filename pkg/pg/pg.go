// Package pg opens a service's Postgres pool and migrates its schema.
//
// Every service owns one schema. Its pool sets search_path to that schema, so the
// service's SQL names its tables unqualified and can never reach another service's.
package pg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/crc64"
	"io/fs"
	"log/slog"
	"regexp"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	"go.opentelemetry.io/otel/trace"
)

var schemaName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Option tunes Connect.
type Option func(*options)

type options struct{ tracerProvider trace.TracerProvider }

// WithTracerProvider makes the queries' spans with tp instead of the global provider (a
// process running several services gives each its own).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracerProvider = tp }
}

// Connect opens a pool on dsn whose connections use schema as their search_path.
// maxConns <= 0 keeps pgx's default (the larger of 4 and the number of CPUs).
//
// Every statement run in a context with a recording span is a child span of it, named
// after the SQL operation and table, with the statement as db.query.text (never its
// arguments, which hold personal data). Statements outside any span (the relay's poll)
// make no span, so idle polling makes no traces.
func Connect(ctx context.Context, dsn, schema string, maxConns int32, opts ...Option) (*pgxpool.Pool, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("pg: invalid schema name %q", schema)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pg: parse DATABASE_URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	// No span per pool acquire: one per statement is enough to see where a call waits.
	// Named "query INSERT", "prepare INSERT": a statement's first run on a connection
	// prepares it inside the query's span.
	cfg.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(o.tracerProvider),
		otelpgx.WithDisableAcquireTracer(), otelpgx.WithQuerySpanNamePrefix())
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pg: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pg: ping %s: %w", cfg.ConnConfig.Host, err)
	}
	return pool, nil
}

// Migration is one set of embedded goose migrations applied to a schema. Sets are
// tracked in separate version tables, so a shared set (the bus's outbox and inbox) and a
// service's own set evolve independently.
type Migration struct {
	// Name tells the version table apart: <schema>.goose_<name>.
	Name string
	FS   fs.FS
}

// Migrate creates schema if needed and applies every set in order. A session-level
// advisory lock serialises replicas that start at the same time.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, log *slog.Logger, sets ...Migration) error {
	if !schemaName.MatchString(schema) {
		return fmt.Errorf("pg: invalid schema name %q", schema)
	}
	// IF NOT EXISTS does not hold between two sessions creating the schema at once (the
	// second fails on a unique index): replicas starting together take turns.
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", schemaLockID(schema)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
		return err
	}); err != nil {
		return fmt.Errorf("pg: create schema %s: %w", schema, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	for _, set := range sets {
		if err := migrateSet(ctx, db, schema, set, log); err != nil {
			return err
		}
	}
	return nil
}

// schemaLockID is the advisory lock taken while creating schema.
func schemaLockID(schema string) int64 {
	return int64(crc64.Checksum([]byte("treue:schema:"+schema), crc64.MakeTable(crc64.ECMA)) >> 1)
}

func migrateSet(ctx context.Context, db *sql.DB, schema string, set Migration, log *slog.Logger) error {
	store, err := database.NewStore(database.DialectPostgres, schema+".goose_"+set.Name)
	if err != nil {
		return err
	}
	// A lock per schema and set: services sharing a database migrate in parallel,
	// replicas of one service one at a time.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(crc64.Checksum([]byte("treue:"+schema+":"+set.Name), crc64.MakeTable(crc64.ECMA))>>1)),
		lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider("", db, set.FS,
		goose.WithStore(store), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("pg: migrations %s.%s: %w", schema, set.Name, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("pg: migrate %s.%s: %w", schema, set.Name, err)
	}
	for _, r := range results {
		log.Info("migration applied", "schema", schema, "set", set.Name, "version", r.Source.Version, "took", r.Duration)
	}
	return nil
}

// IsUniqueViolation reports whether err is Postgres's unique_violation (23505), optionally
// of the named constraint.
func IsUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return false
	}
	return constraint == "" || pgErr.ConstraintName == constraint
}

// IsCheckViolation reports whether err is Postgres's check_violation (23514) of the named
// constraint (any, when constraint is empty).
func IsCheckViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23514" {
		return false
	}
	return constraint == "" || pgErr.ConstraintName == constraint
}

// InTx runs fn in a transaction, committing when it returns nil and rolling back
// otherwise.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, fn)
}
