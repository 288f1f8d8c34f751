package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// UpdateTeam replaces a team's name, time zone, business hours and assignment strategy.
type UpdateTeam struct {
	store Store
	clock func() time.Time
}

// UpdateTeamCommand is the team's new definition; its key and holidays stay.
type UpdateTeamCommand struct {
	TeamID     string
	Name       string
	Location   *time.Location
	Hours      [7][]domain.Span
	Assignment domain.AssignmentStrategy
}

// Handle returns the team as stored; domain.ErrTeamNotFound, *domain.FieldError.
func (h UpdateTeam) Handle(ctx context.Context, cmd UpdateTeamCommand) (domain.Team, error) {
	var out domain.Team
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		t, err := tx.TeamForUpdate(ctx, cmd.TeamID)
		if err != nil {
			return err
		}
		t.Name, t.Calendar.Location, t.Calendar.Hours, t.Assignment = cmd.Name, cmd.Location, cmd.Hours, cmd.Assignment
		if err := t.Validate(); err != nil {
			return err
		}
		t.UpdatedAt = h.clock().UTC()
		out, err = tx.SaveTeam(ctx, t)
		return err
	})
	return out, err
}
