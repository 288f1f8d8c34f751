// Package postgres stores cases, routing rules and erasures in the feedback schema. It
// runs the use cases' transactions over pg.DB and writes the events they emit to the
// outbox in the same transaction.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/convert"
	"github.com/treue/treue/services/feedback/internal/domain"
)

const caseColumns = `case_id::text, response_id, kind, team, status, member_id, survey_id, score, comment,
	nps_class, touchpoint, store_id, rule_id, rule_version, submitted_at, opened_at, due_at,
	coalesce(outcome, ''), resolution_note, resolved_by, resolved_at, anonymised_at, score_kind, employee_id, ` + lifecycleColumns + `, topics`

func scanCase(row pgx.CollectableRow) (domain.Case, error) {
	var (
		c                      domain.Case
		resolvedAt, anonymised *time.Time
		lc                     lifecycleScan
	)
	err := row.Scan(append([]any{&c.ID, &c.ResponseID, &c.Kind, &c.Team, &c.Status, &c.MemberID, &c.SurveyID, &c.Score, &c.Comment,
		&c.NPSClass, &c.Touchpoint, &c.StoreID, &c.RuleID, &c.RuleVersion, &c.SubmittedAt, &c.OpenedAt, &c.DueAt,
		&c.Outcome, &c.ResolutionNote, &c.ResolvedBy, &resolvedAt, &anonymised, &c.ScoreKind, &c.EmployeeID},
		append(lc.dest(&c), &c.Topics)...)...)
	lc.into(&c)
	if resolvedAt != nil {
		c.ResolvedAt = *resolvedAt
	}
	if anonymised != nil {
		c.AnonymisedAt = *anonymised
	}
	return c, err
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Store is the service's app.Store.
type Store struct {
	db     *pg.DB
	outbox *bus.Outbox
}

// NewStore returns the store over db (whose commits wake the outbox relay), writing
// events through outbox.
func NewStore(db *pg.DB, outbox *bus.Outbox) *Store {
	return &Store{db: db, outbox: outbox}
}

var _ app.Store = (*Store)(nil)

func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return fn(ctx, Tx{tx: tx, outbox: s.outbox})
	})
}

func (s *Store) Case(ctx context.Context, id string) (domain.Case, error) {
	return getCase(ctx, s.db.Pool, id)
}

func getCase(ctx context.Context, q querier, id string) (domain.Case, error) {
	rows, err := q.Query(ctx, `SELECT `+caseColumns+` FROM cases WHERE case_id = $1`, id)
	return oneCase(rows, err, domain.ErrCaseNotFound)
}

// oneCase returns the one case of a query's rows, or none when there is no row.
func oneCase(rows pgx.Rows, err, none error) (domain.Case, error) {
	if err != nil {
		return domain.Case{}, err
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanCase)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Case{}, none
	}
	return c, err
}

func (s *Store) Cases(ctx context.Context, f app.CaseFilter) ([]domain.Case, error) {
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
	// Newest first, or (ByDue) earliest next deadline first.
	page, order := `(opened_at, case_id) < ($4, $5::uuid)`, `opened_at DESC, case_id DESC`
	if f.ByDue {
		page, order = `(`+nextDeadline+`, case_id) > ($4, $5::uuid)`, nextDeadline+`, case_id`
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT `+caseColumns+` FROM cases
		WHERE ($1 = '' OR team = $1)
		  AND ($2 = '' OR status = $2)
		  AND ($3::timestamptz IS NULL OR (`+overdueAt3+`))
		  AND ($4::timestamptz IS NULL OR `+page+`)
		  AND ($7 = '' OR assignee = $7)
		  AND ($8::text[] IS NULL OR team = ANY($8))
		ORDER BY `+order+`
		LIMIT $6`, f.Team, string(f.Status), overdueAt, afterAt, afterID, f.Limit, f.Assignee, f.Teams)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanCase)
}

// CountOverdue counts on the partial index of open cases by due time.
func (s *Store) CountOverdue(ctx context.Context, at time.Time) (int64, error) {
	var n int64
	err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE `+overdueAt1, at).Scan(&n)
	return n, err
}

func (s *Store) MemberData(ctx context.Context, memberID string) (domain.MemberData, error) {
	d := domain.MemberData{MemberID: memberID}
	// One snapshot for both reads, so an erasure committing in between cannot show the
	// member both erased and with cases, or neither.
	err := pgx.BeginTxFunc(ctx, s.db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+caseColumns+` FROM cases WHERE member_id = $1 AND member_id <> '' ORDER BY opened_at, case_id`, memberID)
		if err != nil {
			return err
		}
		if d.Cases, err = pgx.CollectRows(rows, scanCase); err != nil {
			return err
		}
		var m domain.MemberCopy
		switch err := tx.QueryRow(ctx, `
			SELECT tier, locale, updated_at, display_name, email, phone, points FROM members WHERE member_id = $1`, memberID).
			Scan(&m.Tier, &m.Locale, &m.UpdatedAt, &m.DisplayName, &m.Email, &m.Phone, &m.Points); {
		case err == nil:
			d.Copy = &m
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if d.Goodwill, err = memberGoodwill(ctx, tx, memberID); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT erased_at FROM erased_members WHERE member_id = $1`, memberID).Scan(&d.ErasedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	return d, err
}

// Tx is the service's app.Tx: one transaction.
type Tx struct {
	tx     pgx.Tx
	outbox *bus.Outbox
}

var _ app.Tx = Tx{}

func (t Tx) Emit(ctx context.Context, events ...domain.Event) error {
	msgs, err := convert.Events(events...)
	if err != nil {
		return err
	}
	return t.outbox.Enqueue(ctx, t.tx, msgs...)
}

func (t Tx) ActiveRules(ctx context.Context) ([]domain.Rule, error) {
	return queryRules(ctx, t.tx, `WHERE active`)
}

// Erasures and new cases exclude each other through the lock on cases: storing cases
// takes ROW EXCLUSIVE (what an INSERT takes anyway; storers do not block each other),
// an erasure SHARE ROW EXCLUSIVE, which conflicts with it. Each takes its lock in a
// statement of its own, before it reads, so that the statements after the wait see what
// the other committed: an erasure then sees every case stored before it, and a batch of
// new cases sees every erasure before it. Without it, a case inserted while an erasure
// runs (events of two subjects, on two consumers) would keep its member's data.

func (t Tx) ErasedMembers(ctx context.Context, memberIDs []string) (map[string]bool, error) {
	if _, err := t.tx.Exec(ctx, `LOCK TABLE cases IN ROW EXCLUSIVE MODE`); err != nil {
		return nil, fmt.Errorf("lock cases: %w", err)
	}
	rows, err := t.tx.Query(ctx, `SELECT member_id FROM erased_members WHERE member_id = ANY($1::text[])`, memberIDs)
	if err != nil {
		return nil, fmt.Errorf("erased members: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("erased members: %w", err)
	}
	erased := make(map[string]bool, len(ids))
	for _, id := range ids {
		erased[id] = true
	}
	return erased, nil
}

func (t Tx) EraseMembers(ctx context.Context, memberIDs []string, at time.Time) (int, error) {
	if _, err := t.tx.Exec(ctx, `LOCK TABLE cases IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return 0, fmt.Errorf("lock cases: %w", err)
	}
	// Set-based, as domain.Case.Anonymise: the same fields, for every case at once.
	tag, err := t.tx.Exec(ctx, `
		WITH remembered AS (
			INSERT INTO erased_members (member_id, erased_at)
			SELECT DISTINCT unnest($1::text[]), $2::timestamptz
			ON CONFLICT DO NOTHING
		), forgotten AS (
			DELETE FROM members WHERE member_id = ANY($1::text[])
		), touchpoints AS (
			DELETE FROM response_touchpoints WHERE response_id IN (
				SELECT response_id FROM cases WHERE member_id = ANY($1::text[])
				UNION SELECT detail->>'response_id' FROM member_events WHERE member_id = ANY($1::text[]) AND kind = 'response')
		), loyalty AS (
			DELETE FROM member_events WHERE member_id = ANY($1::text[])
		), theirs AS (
			SELECT case_id FROM cases WHERE member_id = ANY($1::text[])
		), history AS (
			-- What agents and CRMs wrote about the member goes with the case's comment.
			UPDATE case_history SET note = '' WHERE case_id IN (SELECT case_id FROM theirs) AND note <> ''
		), notes AS (
			DELETE FROM case_notes WHERE case_id IN (SELECT case_id FROM theirs)
		), crm AS (
			UPDATE crm_updates SET note = '' WHERE case_id IN (SELECT case_id FROM theirs) AND note <> ''
		), goodwill AS (
			-- A coupon not yet asked for is not asked for any more.
			UPDATE goodwill_grants SET member_id = '', reason = '',
				reward_error = CASE WHEN reward_status = 'pending' THEN 'the member was erased' ELSE reward_error END,
				reward_status = CASE WHEN reward_status = 'pending' THEN 'refused' ELSE reward_status END
			WHERE member_id = ANY($1::text[])
		)
		UPDATE cases SET member_id = '', comment = '', resolution_note = '', anonymised_at = $2::timestamptz
		WHERE member_id = ANY($1::text[])`, memberIDs, at)
	if err != nil {
		return 0, fmt.Errorf("erase members: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func (t Tx) AddCases(ctx context.Context, cases []domain.Case) ([]domain.Case, error) {
	if len(cases) == 0 {
		return nil, nil
	}
	n := len(cases)
	ids, responses, kinds, teams := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	members, surveys, comments := make([]string, n), make([]string, n), make([]string, n)
	classes, touchpoints, stores := make([]string, n), make([]string, n), make([]string, n)
	scores, versions, rules := make([]int32, n), make([]int32, n), make([]int64, n)
	submitted, opened, due := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	anonymised := make([]*time.Time, n)
	scoreKinds, employees := make([]string, n), make([]string, n)
	for i, c := range cases {
		scoreKinds[i], employees[i] = string(c.ScoreKind), c.EmployeeID
		ids[i], responses[i], kinds[i], teams[i] = c.ID, c.ResponseID, string(c.Kind), c.Team
		members[i], surveys[i], comments[i] = c.MemberID, c.SurveyID, c.Comment
		classes[i], touchpoints[i], stores[i] = string(c.NPSClass), c.Touchpoint, c.StoreID
		scores[i], versions[i], rules[i] = int32(c.Score), int32(c.RuleVersion), c.RuleID
		submitted[i], opened[i], due[i] = c.SubmittedAt, c.OpenedAt, c.DueAt
		if !c.AnonymisedAt.IsZero() {
			anonymised[i] = &cases[i].AnonymisedAt
		}
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO cases (case_id, response_id, kind, team, member_id, survey_id, score, comment, nps_class,
		                   touchpoint, store_id, rule_id, rule_version, submitted_at, opened_at, due_at, anonymised_at,
		                   score_kind, employee_id)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[],
		                     $9::text[], $10::text[], $11::text[], $12::bigint[], $13::int[], $14::timestamptz[],
		                     $15::timestamptz[], $16::timestamptz[], $17::timestamptz[], $18::text[], $19::text[])
		ON CONFLICT (response_id) DO NOTHING
		RETURNING `+caseColumns,
		ids, responses, kinds, teams, members, surveys, scores, comments, classes, touchpoints, stores, rules, versions,
		submitted, opened, due, anonymised, scoreKinds, employees)
	if err != nil {
		return nil, fmt.Errorf("insert cases: %w", err)
	}
	stored, err := pgx.CollectRows(rows, scanCase)
	if err != nil {
		return nil, fmt.Errorf("insert cases: %w", err)
	}
	return stored, nil
}

func (t Tx) Case(ctx context.Context, id string) (domain.Case, error) {
	return getCase(ctx, t.tx, id)
}
