package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// lifecycleColumns are the case's lifecycle columns (migration 00006), read after the
// others by scanCase.
const lifecycleColumns = `assignee, priority, task_type, root_cause,
	first_contact_sla, resolution_sla, first_contact_due_at, acknowledged_at, contacted_at,
	waiting_since, waiting_from, paused, escalation_level, reminded_at, closed_at,
	coalesce(merged_into::text, '')`

// overdue conditions: being worked and past the first-contact (not yet made) or the
// resolution due time, at $3 / $1.
const (
	overdueAt3 = `status IN ('open', 'acknowledged', 'contacted') AND (due_at < $3 OR (contacted_at IS NULL AND first_contact_due_at < $3))`
	overdueAt1 = `status IN ('open', 'acknowledged', 'contacted') AND (due_at < $1 OR (contacted_at IS NULL AND first_contact_due_at < $1))`
)

// nextDeadline is the deadline a case works towards (domain.Case.NextDeadline).
const nextDeadline = `(CASE WHEN contacted_at IS NULL AND first_contact_due_at IS NOT NULL THEN first_contact_due_at ELSE due_at END)`

// lifecycleScan holds the nullable lifecycle columns while a row is scanned.
type lifecycleScan struct {
	firstContactSLA, resolutionSLA, paused                       int64
	firstDue, acknowledged, contacted, waiting, reminded, closed *time.Time
}

func (l *lifecycleScan) dest(c *domain.Case) []any {
	return []any{&c.Assignee, &c.Priority, &c.TaskType, &c.RootCause, &l.firstContactSLA, &l.resolutionSLA,
		&l.firstDue, &l.acknowledged, &l.contacted, &l.waiting, &c.WaitingFrom, &l.paused, &c.EscalationLevel,
		&l.reminded, &l.closed, &c.MergedInto}
}

func (l *lifecycleScan) into(c *domain.Case) {
	c.FirstContactSLA = time.Duration(l.firstContactSLA) * time.Second
	c.ResolutionSLA = time.Duration(l.resolutionSLA) * time.Second
	c.Paused = time.Duration(l.paused) * time.Second
	for _, f := range []struct {
		src *time.Time
		dst *time.Time
	}{{l.firstDue, &c.FirstContactDueAt}, {l.acknowledged, &c.AcknowledgedAt}, {l.contacted, &c.ContactedAt},
		{l.waiting, &c.WaitingSince}, {l.reminded, &c.RemindedAt}, {l.closed, &c.ClosedAt}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (t Tx) CaseForUpdate(ctx context.Context, id string) (domain.Case, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+caseColumns+` FROM cases WHERE case_id = $1 FOR UPDATE`, id)
	return oneCase(rows, err, domain.ErrCaseNotFound)
}

func (t Tx) SaveCase(ctx context.Context, c domain.Case) (domain.Case, error) {
	var outcome *string
	if c.Outcome != "" {
		o := string(c.Outcome)
		outcome = &o
	}
	rows, err := t.tx.Query(ctx, `UPDATE cases SET
		status = $2, outcome = $3, resolution_note = $4, resolved_by = $5, resolved_at = $6,
		assignee = $7, root_cause = $8, first_contact_due_at = $9, due_at = $10,
		acknowledged_at = $11, contacted_at = $12, waiting_since = $13, waiting_from = $14, paused = $15,
		escalation_level = $16, reminded_at = $17, closed_at = $18, merged_into = $19::uuid,
		priority = $20, task_type = $21, first_contact_sla = $22, resolution_sla = $23
		WHERE case_id = $1
		RETURNING `+caseColumns,
		c.ID, string(c.Status), outcome, c.ResolutionNote, c.ResolvedBy, nullTime(c.ResolvedAt),
		c.Assignee, c.RootCause, nullTime(c.FirstContactDueAt), c.DueAt,
		nullTime(c.AcknowledgedAt), nullTime(c.ContactedAt), nullTime(c.WaitingSince), string(c.WaitingFrom),
		int64(c.Paused/time.Second), c.EscalationLevel, nullTime(c.RemindedAt), nullTime(c.ClosedAt),
		nullText(c.MergedInto), c.Priority, c.TaskType, int64(c.FirstContactSLA/time.Second),
		int64(c.ResolutionSLA/time.Second))
	return oneCase(rows, err, domain.ErrCaseNotFound)
}

func (t Tx) Escalate(ctx context.Context, id string, level int) (bool, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE cases SET escalation_level = $2 WHERE case_id = $1 AND escalation_level < $2`, id, level)
	return tag.RowsAffected() == 1, err
}

func (t Tx) MarkReminded(ctx context.Context, id string, at time.Time) (bool, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE cases SET reminded_at = $2 WHERE case_id = $1 AND reminded_at IS NULL`, id, at)
	return tag.RowsAffected() == 1, err
}

func (t Tx) AddHistory(ctx context.Context, ts ...domain.Transition) error {
	for _, h := range ts {
		if _, err := t.tx.Exec(ctx, `INSERT INTO case_history (case_id, action, from_status, to_status, by_whom, at, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, h.CaseID, h.Action, string(h.From), string(h.To), h.By, h.At, h.Note); err != nil {
			return fmt.Errorf("case history: %w", err)
		}
	}
	return nil
}

func (t Tx) AddNote(ctx context.Context, n domain.Note) (domain.Note, error) {
	err := t.tx.QueryRow(ctx, `INSERT INTO case_notes (case_id, by_whom, at, text) VALUES ($1, $2, $3, $4)
		RETURNING id, at`, n.CaseID, n.By, n.At, n.Text).Scan(&n.ID, &n.At)
	return n, err
}

func (t Tx) MoveNotes(ctx context.Context, from, to string) (int, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE case_notes SET case_id = $2 WHERE case_id = $1`, from, to)
	return int(tag.RowsAffected()), err
}

func (t Tx) SweepCandidates(ctx context.Context, after *app.SweepCursor, limit int) ([]domain.Case, error) {
	// Cases being worked and not yet at the top level, earliest deadline first
	// (domain.Case.EarliestDeadline), from where the last page ended; a case another
	// sweep holds is skipped.
	var at *time.Time
	var id string
	if after != nil {
		at, id = &after.Deadline, after.CaseID
	}
	rows, err := t.tx.Query(ctx, `SELECT `+caseColumns+` FROM cases
		WHERE status IN ('open', 'acknowledged', 'contacted') AND escalation_level < 3
		  AND ($2::timestamptz IS NULL OR (`+sweepKey+`, case_id::text) > ($2::timestamptz, $3::text))
		ORDER BY `+sweepKey+`, case_id::text
		LIMIT $1
		FOR UPDATE SKIP LOCKED`, limit, at, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanCase)
}

// sweepKey is domain.Case.EarliestDeadline in SQL.
const sweepKey = "least(due_at, CASE WHEN contacted_at IS NULL THEN first_contact_due_at END)"

func (s *Store) History(ctx context.Context, caseID string) ([]domain.Transition, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT case_id::text, action, from_status, to_status, by_whom, at, note
		FROM case_history WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Transition, error) {
		var h domain.Transition
		err := row.Scan(&h.CaseID, &h.Action, &h.From, &h.To, &h.By, &h.At, &h.Note)
		return h, err
	})
}

func (s *Store) Notes(ctx context.Context, caseID string) ([]domain.Note, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT id, case_id::text, by_whom, at, text FROM case_notes
		WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Note, error) {
		var n domain.Note
		err := row.Scan(&n.ID, &n.CaseID, &n.By, &n.At, &n.Text)
		return n, err
	})
}

var _ app.LifecycleStore = (*Store)(nil)
