package app_test

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// The lifecycle's part of the in-memory store (the service tests run it on Postgres).

func (t *fakeTx) CaseForUpdate(ctx context.Context, id string) (domain.Case, error) {
	return t.s.Case(ctx, id)
}
func (t *fakeTx) SaveCase(_ context.Context, c domain.Case) (domain.Case, error) {
	t.saved = append(t.saved, c)
	return c, nil
}
func (t *fakeTx) AddHistory(context.Context, ...domain.Transition) error { return nil }
func (t *fakeTx) AddNote(_ context.Context, n domain.Note) (domain.Note, error) {
	return n, nil
}
func (t *fakeTx) MoveNotes(context.Context, string, string) (int, error) { return 0, nil }
func (t *fakeTx) Escalate(_ context.Context, id string, level int) (bool, error) {
	c := t.s.cases[id]
	if c.EscalationLevel >= level {
		return false, nil
	}
	c.EscalationLevel = level
	t.s.cases[id] = c
	return true, nil
}
func (t *fakeTx) MarkReminded(_ context.Context, id string, at time.Time) (bool, error) {
	c := t.s.cases[id]
	if !c.RemindedAt.IsZero() {
		return false, nil
	}
	c.RemindedAt = at
	t.s.cases[id] = c
	return true, nil
}
func (t *fakeTx) SweepCandidates(_ context.Context, after *app.SweepCursor, limit int) ([]domain.Case, error) {
	var out []domain.Case
	for _, c := range t.s.cases {
		if c.Status.Active() && c.EscalationLevel < domain.EscalateManager {
			out = append(out, c)
		}
	}
	key := func(c domain.Case) app.SweepCursor {
		return app.SweepCursor{Deadline: c.EarliestDeadline(), CaseID: c.ID}
	}
	less := func(a, b app.SweepCursor) int {
		return cmp.Or(a.Deadline.Compare(b.Deadline), cmp.Compare(a.CaseID, b.CaseID))
	}
	slices.SortFunc(out, func(a, b domain.Case) int { return less(key(a), key(b)) })
	if after != nil {
		out = slices.DeleteFunc(out, func(c domain.Case) bool { return less(key(c), *after) <= 0 })
	}
	return out[:min(limit, len(out))], nil
}

func (s *fakeStore) History(context.Context, string) ([]domain.Transition, error) { return nil, nil }
func (s *fakeStore) Notes(context.Context, string) ([]domain.Note, error)         { return nil, nil }
