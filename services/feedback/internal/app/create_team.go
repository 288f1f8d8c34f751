package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// CreateTeam creates a team.
type CreateTeam struct {
	store Store
	clock func() time.Time
	newID func() string
}

// CreateTeamCommand is one team to create; IdempotencyKey (scoped to the caller) makes a
// retry return the team created the first time. Team's ID and times are set here.
type CreateTeamCommand struct {
	IdempotencyKey string
	Team           domain.Team
}

// Handle validates and stores the team. A *domain.FieldError for a team that breaks a
// rule, domain.ErrTeamExists for a taken key, domain.ErrIdempotencyKeyReused.
func (h CreateTeam) Handle(ctx context.Context, cmd CreateTeamCommand) (domain.Team, error) {
	t := cmd.Team
	t.Calendar.Holidays = nil
	if err := t.Validate(); err != nil {
		return domain.Team{}, err
	}
	hash := requestHash(struct {
		Key, Name, Zone, Assignment string
		Hours                       [7][]domain.Span
	}{t.Key, t.Name, t.Calendar.Location.String(), string(t.Assignment), t.Calendar.Hours})
	now := h.clock().UTC()
	t.ID, t.CreatedAt, t.UpdatedAt = h.newID(), now, now
	var out domain.Team
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		stored, storedHash, created, err := tx.CreateTeam(ctx, t, cmd.IdempotencyKey, hash)
		if err != nil {
			return err
		}
		if !created && storedHash != hash {
			return domain.ErrIdempotencyKeyReused
		}
		out = stored
		return nil
	})
	return out, err
}
