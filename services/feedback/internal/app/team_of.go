package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// TeamOf returns a team by key with all its staff.
type TeamOf struct{ store Store }

// Handle returns domain.ErrTeamNotFound when no team has the key.
func (h TeamOf) Handle(ctx context.Context, key string) (domain.Team, []domain.Staff, error) {
	return h.store.TeamOf(ctx, key)
}
