// Package postgres stores cases and routing rules in the feedback schema, and writes the
// events of every change to the outbox in the same transaction.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treue/treue/pkg/bus"

	"github.com/treue/treue/services/feedback/internal/adapters/convert"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// Subjects of the events this service writes.
const (
	SubjectCaseOpened   = "feedback.case.opened"
	SubjectCaseResolved = "feedback.case.resolved"
)

const caseColumns = `case_id::text, response_id::text, kind, team, status, member_id, survey_id, score, comment,
	nps_class, touchpoint, store_id, rule_id, rule_version, submitted_at, opened_at, due_at,
	coalesce(outcome, ''), resolution_note, resolved_by, resolved_at`

func scanCase(row pgx.CollectableRow) (domain.Case, error) {
	var (
		c          domain.Case
		resolvedAt *time.Time
	)
	err := row.Scan(&c.ID, &c.ResponseID, &c.Kind, &c.Team, &c.Status, &c.MemberID, &c.SurveyID, &c.Score, &c.Comment,
		&c.NPSClass, &c.Touchpoint, &c.StoreID, &c.RuleID, &c.RuleVersion, &c.SubmittedAt, &c.OpenedAt, &c.DueAt,
		&c.Outcome, &c.ResolutionNote, &c.ResolvedBy, &resolvedAt)
	if resolvedAt != nil {
		c.ResolvedAt = *resolvedAt
	}
	return c, err
}

// Cases is the repository the gRPC API uses.
type Cases struct {
	pool *pgxpool.Pool
	// committed runs after a commit that wrote outbox rows (it wakes the relay).
	committed func()
}

// NewCases returns the repository over pool; committed may be nil.
func NewCases(pool *pgxpool.Pool, committed func()) *Cases {
	if committed == nil {
		committed = func() {}
	}
	return &Cases{pool: pool, committed: committed}
}

var _ app.CaseRepository = (*Cases)(nil)

func (r *Cases) Case(ctx context.Context, id string) (domain.Case, error) {
	return getCase(ctx, r.pool, id)
}

func getCase(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, id string) (domain.Case, error) {
	rows, err := q.Query(ctx, `SELECT `+caseColumns+` FROM cases WHERE case_id = $1`, id)
	if err != nil {
		return domain.Case{}, err
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanCase)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Case{}, domain.ErrCaseNotFound
	}
	return c, err
}

func (r *Cases) List(ctx context.Context, f app.CaseFilter) ([]domain.Case, error) {
	var (
		overdueAt, afterAt *time.Time
		afterID            *string
	)
	if !f.OverdueAt.IsZero() {
		overdueAt = &f.OverdueAt
	}
	if f.After != nil {
		afterAt, afterID = &f.After.OpenedAt, &f.After.CaseID
	}
	rows, err := r.pool.Query(ctx, `SELECT `+caseColumns+` FROM cases
		WHERE ($1 = '' OR team = $1)
		  AND ($2 = '' OR status = $2)
		  AND ($3::timestamptz IS NULL OR (status = 'open' AND due_at < $3))
		  AND ($4::timestamptz IS NULL OR (opened_at, case_id) < ($4, $5::uuid))
		ORDER BY opened_at DESC, case_id DESC
		LIMIT $6`, f.Team, string(f.Status), overdueAt, afterAt, afterID, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanCase)
}

func (r *Cases) Resolve(ctx context.Context, id string, resolve func(*domain.Case) error) (domain.Case, error) {
	var c domain.Case
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var err error
		if c, err = getCase(ctx, tx, id); err != nil {
			return err
		}
		if err := resolve(&c); err != nil {
			return err
		}
		// Conditional: of two agents resolving at once, the second waits for the first's
		// row lock, then finds the case no longer open.
		rows, err := tx.Query(ctx, `UPDATE cases
			SET status = 'resolved', outcome = $2, resolution_note = $3, resolved_by = $4, resolved_at = $5
			WHERE case_id = $1 AND status = 'open'
			RETURNING `+caseColumns,
			c.ID, string(c.Outcome), c.ResolutionNote, c.ResolvedBy, c.ResolvedAt)
		if err != nil {
			return err
		}
		// What was stored (timestamps at the database's precision) is what the event says.
		c, err = pgx.CollectExactlyOneRow(rows, scanCase)
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.ErrAlreadyResolved
		}
		if err != nil {
			return err
		}
		return bus.Enqueue(ctx, tx, bus.NewEvent(SubjectCaseResolved, convert.CaseResolved(c)))
	})
	if err != nil {
		return domain.Case{}, err
	}
	r.committed()
	return c, nil
}

// EventStore is the store of one consumer batch, inside the batch's transaction.
type EventStore struct {
	tx pgx.Tx
}

// NewEventStore returns the store working in tx.
func NewEventStore(tx pgx.Tx) EventStore { return EventStore{tx: tx} }

var _ app.EventStore = EventStore{}

func (s EventStore) ActiveRules(ctx context.Context) ([]domain.Rule, error) {
	rows, err := s.tx.Query(ctx, `
		SELECT id, name, priority, condition, case_kind, team,
		       (extract(epoch FROM due_in) * 1000000)::bigint, active, version
		FROM routing_rules WHERE active`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Rule, error) {
		var (
			r      domain.Rule
			micros int64
		)
		err := row.Scan(&r.ID, &r.Name, &r.Priority, &r.Condition, &r.Kind, &r.Team, &micros, &r.Active, &r.Version)
		r.DueIn = time.Duration(micros) * time.Microsecond
		return r, err
	})
}

func (s EventStore) OpenCases(ctx context.Context, cases []domain.Case) (int, error) {
	if len(cases) == 0 {
		return 0, nil
	}
	n := len(cases)
	ids, responses, kinds, teams := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	members, surveys, comments := make([]string, n), make([]string, n), make([]string, n)
	classes, touchpoints, stores := make([]string, n), make([]string, n), make([]string, n)
	scores, versions, rules := make([]int32, n), make([]int32, n), make([]int64, n)
	submitted, opened, due := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	for i, c := range cases {
		ids[i], responses[i], kinds[i], teams[i] = c.ID, c.ResponseID, string(c.Kind), c.Team
		members[i], surveys[i], comments[i] = c.MemberID, c.SurveyID, c.Comment
		classes[i], touchpoints[i], stores[i] = string(c.NPSClass), c.Touchpoint, c.StoreID
		scores[i], versions[i], rules[i] = int32(c.Score), int32(c.RuleVersion), c.RuleID
		submitted[i], opened[i], due[i] = c.SubmittedAt, c.OpenedAt, c.DueAt
	}
	// A response whose member was erased before it arrived keeps no personal data.
	rows, err := s.tx.Query(ctx, `
		INSERT INTO cases (case_id, response_id, kind, team, member_id, survey_id, score, comment, nps_class,
		                   touchpoint, store_id, rule_id, rule_version, submitted_at, opened_at, due_at, anonymised_at)
		SELECT u.case_id, u.response_id, u.kind, u.team,
		       CASE WHEN e.member_id IS NULL THEN u.member_id ELSE '' END,
		       u.survey_id, u.score,
		       CASE WHEN e.member_id IS NULL THEN u.comment ELSE '' END,
		       u.nps_class, u.touchpoint, u.store_id, u.rule_id, u.rule_version, u.submitted_at, u.opened_at, u.due_at,
		       CASE WHEN e.member_id IS NULL THEN NULL ELSE u.opened_at END
		FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[],
		            $9::text[], $10::text[], $11::text[], $12::bigint[], $13::int[], $14::timestamptz[],
		            $15::timestamptz[], $16::timestamptz[])
		     AS u(case_id, response_id, kind, team, member_id, survey_id, score, comment, nps_class,
		          touchpoint, store_id, rule_id, rule_version, submitted_at, opened_at, due_at)
		LEFT JOIN erased_members e ON e.member_id = u.member_id AND u.member_id <> ''
		ON CONFLICT (response_id) DO NOTHING
		RETURNING `+caseColumns,
		ids, responses, kinds, teams, members, surveys, scores, comments, classes, touchpoints, stores, rules, versions,
		submitted, opened, due)
	if err != nil {
		return 0, fmt.Errorf("insert cases: %w", err)
	}
	stored, err := pgx.CollectRows(rows, scanCase)
	if err != nil {
		return 0, fmt.Errorf("insert cases: %w", err)
	}
	events := make([]bus.Event, len(stored))
	for i, c := range stored {
		events[i] = bus.NewEvent(SubjectCaseOpened, convert.CaseOpened(c))
	}
	return len(stored), bus.Enqueue(ctx, s.tx, events...)
}

func (s EventStore) EraseMembers(ctx context.Context, memberIDs []string, at time.Time) (int, error) {
	tag, err := s.tx.Exec(ctx, `
		WITH remembered AS (
			INSERT INTO erased_members (member_id, erased_at)
			SELECT DISTINCT unnest($1::text[]), $2::timestamptz
			ON CONFLICT DO NOTHING
		)
		UPDATE cases SET member_id = '', comment = '', resolution_note = '', anonymised_at = $2::timestamptz
		WHERE member_id = ANY($1::text[])`, memberIDs, at)
	if err != nil {
		return 0, fmt.Errorf("erase members: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
