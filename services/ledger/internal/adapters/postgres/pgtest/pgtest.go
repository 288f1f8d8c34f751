// Package pgtest is what tests need of the ledger's schema beyond the store: members
// enrolled in bulk, faster than through the application.
package pgtest

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
)

// Execer runs a statement: a pool or a connection on the ledger's schema.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// SeedMembers enrols n members straight in SQL, with their accounts, and returns their
// ids.
func SeedMembers(tb testing.TB, db Execer, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
	}
	_, err := db.Exec(context.Background(), `
		WITH m AS (
			INSERT INTO members (id, display_name, email, locale, survey_consent, marketing_consent, tier, enrolled_at, idempotency_key, request_hash)
			SELECT id, 'Member', 'm@example.com', 'en', true, true, 'standard', now(), 'seed-' || id, ''
			FROM unnest($1::uuid[]) AS id
			RETURNING id)
		INSERT INTO accounts (name, member_id, balance)
		SELECT 'member:' || m.id || s.suffix, m.id, 0 FROM m, unnest(ARRAY['', ':hold', ':pending']) AS s(suffix)`, ids)
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}
