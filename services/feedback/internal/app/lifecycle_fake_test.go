package app_test

import (
	"context"
	"time"

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
func (t *fakeTx) Escalate(context.Context, string, int) (bool, error)    { return true, nil }
func (t *fakeTx) MarkReminded(context.Context, string, time.Time) (bool, error) {
	return true, nil
}
func (t *fakeTx) SweepCandidates(context.Context, int) ([]domain.Case, error) { return nil, nil }

func (s *fakeStore) History(context.Context, string) ([]domain.Transition, error) { return nil, nil }
func (s *fakeStore) Notes(context.Context, string) ([]domain.Note, error)         { return nil, nil }
