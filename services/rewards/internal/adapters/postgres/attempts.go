package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// Limiter implements app.AttemptLimiter over the table coupon_attempts, which every
// replica shares: one upsert per attempt spends the budgets of all its scopes.
type Limiter struct {
	db     *pg.DB
	policy domain.AttemptPolicy
}

var _ app.AttemptLimiter = (*Limiter)(nil)

// NewLimiter returns the budgets of policy over db.
func NewLimiter(db *pg.DB, policy domain.AttemptPolicy) *Limiter {
	return &Limiter{db: db, policy: policy}
}

// Attempt spends one attempt of each scope that has a budget (policy.PerMinute), in one
// statement: a fixed window of a minute per scope, started afresh when the last one has
// passed. The scopes without a budget are only read, for their lock: a store's or a
// key's row written by every attempt of all its tills would make them queue behind its
// row lock; their failures, which guessing makes and honest tills hardly do, are what
// locks them.
//
// The statement commits without waiting for its WAL flush (synchronous_commit off for
// its transaction alone): a crash may forget the last few milliseconds of attempts,
// which costs nothing, and no attempt waits for a disk.
func (l *Limiter) Attempt(ctx context.Context, scopes []domain.AttemptScope, now time.Time) error {
	var spend, read []domain.AttemptScope
	for _, sc := range scopes {
		if l.policy.PerMinute[sc.Kind] > 0 {
			spend = append(spend, sc)
		} else {
			read = append(read, sc)
		}
	}
	kinds, subjects := split(spend)
	readKinds, readSubjects := split(read)
	now = now.UTC()
	rows, err := l.db.Pool.Query(ctx, `
		WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)),
		spent AS (
			INSERT INTO coupon_attempts AS a (scope, subject, attempt_window, attempts, failure_window, failures)
			SELECT k, s, $3::timestamptz, 1, $3::timestamptz, 0 FROM unnest($1::text[], $2::text[]) AS t(k, s), relaxed
			ON CONFLICT (scope, subject) DO UPDATE SET
				attempts = CASE WHEN a.attempt_window <= $3::timestamptz - interval '1 minute' THEN 1 ELSE a.attempts + 1 END,
				attempt_window = CASE WHEN a.attempt_window <= $3::timestamptz - interval '1 minute' THEN $3::timestamptz ELSE a.attempt_window END
			RETURNING scope, subject, attempts, attempt_window, locked_until
		)
		SELECT * FROM spent
		UNION ALL
		SELECT a.scope, a.subject, 0, a.attempt_window, a.locked_until
		FROM coupon_attempts a JOIN unnest($4::text[], $5::text[]) AS r(k, s) ON a.scope = r.k AND a.subject = r.s`,
		kinds, subjects, now, readKinds, readSubjects)
	if err != nil {
		return err
	}
	type row struct {
		scope       domain.AttemptScope
		attempts    int
		window      time.Time
		lockedUntil *time.Time
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.scope.Kind, &x.scope.Subject, &x.attempts, &x.window, &x.lockedUntil)
		return x, err
	})
	if err != nil {
		return err
	}
	// A lock outranks a spent budget: it says to stop for longer.
	for _, x := range got {
		if x.lockedUntil != nil && x.lockedUntil.After(now) {
			return &domain.LockedOut{Scope: x.scope, Until: *x.lockedUntil}
		}
	}
	for _, x := range got {
		if limit := l.policy.PerMinute[x.scope.Kind]; limit > 0 && x.attempts > limit {
			return &domain.RateLimited{Scope: x.scope, Until: x.window.Add(time.Minute)}
		}
	}
	return nil
}

// CountCouponFailure counts an unknown code against each scope (in its failure window),
// in one upsert, and locks the scopes that reach the limit; it returns those it locked
// now.
func (t *Tx) CountCouponFailure(ctx context.Context, scopes []domain.AttemptScope, now time.Time) ([]domain.Lock, error) {
	kinds, subjects := split(scopes)
	now = now.UTC()
	p := t.policy
	const reset = `a.failure_window <= $3::timestamptz - $4::float8 * interval '1 second'`
	const failures = `CASE WHEN ` + reset + ` THEN 1 ELSE a.failures + 1 END`
	const lockedUntil = `$3::timestamptz + $6::float8 * interval '1 second'`
	rows, err := t.tx.Query(ctx, `
		INSERT INTO coupon_attempts AS a (scope, subject, attempt_window, attempts, failure_window, failures, locked_until)
		SELECT k, s, $3::timestamptz, 0, $3::timestamptz, 1, CASE WHEN 1 >= $5 THEN `+lockedUntil+` END
		FROM unnest($1::text[], $2::text[]) AS t(k, s)
		ON CONFLICT (scope, subject) DO UPDATE SET
			failures = `+failures+`,
			failure_window = CASE WHEN `+reset+` THEN $3::timestamptz ELSE a.failure_window END,
			locked_until = CASE WHEN `+failures+` >= $5 AND (a.locked_until IS NULL OR a.locked_until <= $3::timestamptz)
				THEN `+lockedUntil+` ELSE a.locked_until END
		RETURNING a.scope, a.subject, a.failures, a.locked_until, a.locked_until IS NOT DISTINCT FROM `+lockedUntil,
		kinds, subjects, now, p.FailureWindow.Seconds(), p.MaxFailures, p.Lockout.Seconds())
	if err != nil {
		return nil, err
	}
	var locks []domain.Lock
	var (
		l     domain.Lock
		until *time.Time
		fresh bool
	)
	_, err = pgx.ForEachRow(rows, []any{&l.Scope.Kind, &l.Scope.Subject, &l.Failures, &until, &fresh}, func() error {
		if fresh && until != nil {
			l.Until = *until
			locks = append(locks, l)
		}
		return nil
	})
	return locks, err
}

func split(scopes []domain.AttemptScope) (kinds, subjects []string) {
	for _, s := range scopes {
		kinds = append(kinds, s.Kind)
		subjects = append(subjects, s.Subject)
	}
	return kinds, subjects
}
