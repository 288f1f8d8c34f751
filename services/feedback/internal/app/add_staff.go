package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// AddStaff adds a member of staff to a team.
type AddStaff struct {
	store Store
	clock func() time.Time
	newID func() string
}

// AddStaffCommand is one member of staff to add (active); IdempotencyKey (scoped to the
// caller) makes a retry return the row created the first time.
type AddStaffCommand struct {
	IdempotencyKey string
	Staff          domain.Staff
}

// Handle stores the staff row (email lower case); *domain.FieldError,
// domain.ErrTeamNotFound, domain.ErrStaffEmailTaken, domain.ErrIdempotencyKeyReused.
func (h AddStaff) Handle(ctx context.Context, cmd AddStaffCommand) (domain.Staff, error) {
	s := cmd.Staff
	s.Email, s.Active = domain.NormalizeEmail(s.Email), true
	if err := s.Validate(); err != nil {
		return domain.Staff{}, err
	}
	hash := requestHash(struct{ Team, Name, Email, Role string }{s.TeamID, s.Name, s.Email, string(s.Role)})
	s.ID = h.newID()
	var out domain.Staff
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		stored, storedHash, created, err := tx.AddStaff(ctx, s, cmd.IdempotencyKey, hash)
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
