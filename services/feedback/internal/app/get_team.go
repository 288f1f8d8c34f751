package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// GetTeam returns a team by id or key.
type GetTeam struct{ store Store }

// Handle returns domain.ErrTeamNotFound when no team has the id or key.
func (h GetTeam) Handle(ctx context.Context, idOrKey string) (domain.Team, error) {
	return h.store.Team(ctx, idOrKey)
}
