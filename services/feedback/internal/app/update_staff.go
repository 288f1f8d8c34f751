package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// UpdateStaff replaces a staff row's name, email, team, role and whether it is active.
type UpdateStaff struct{ store Store }

// Handle returns the row as stored; *domain.FieldError, domain.ErrStaffNotFound,
// domain.ErrTeamNotFound, domain.ErrStaffEmailTaken. Cases already assigned to someone
// who becomes inactive stay assigned.
func (h UpdateStaff) Handle(ctx context.Context, s domain.Staff) (domain.Staff, error) {
	s.Email = domain.NormalizeEmail(s.Email)
	if err := s.Validate(); err != nil {
		return domain.Staff{}, err
	}
	var out domain.Staff
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		out, err = tx.SaveStaff(ctx, s)
		return err
	})
	return out, err
}
