package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ListTeams returns every team by key.
type ListTeams struct{ store Store }

// Handle returns the teams with their holidays.
func (h ListTeams) Handle(ctx context.Context) ([]domain.Team, error) { return h.store.Teams(ctx) }
