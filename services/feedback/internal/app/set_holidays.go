package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// SetHolidays replaces a team's holidays.
type SetHolidays struct{ store Store }

// Handle returns the team with its new holidays (sorted by day); domain.ErrTeamNotFound,
// *domain.FieldError (holidays[i].day).
func (h SetHolidays) Handle(ctx context.Context, teamID string, holidays []domain.Holiday) (domain.Team, error) {
	var out domain.Team
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		t, err := tx.TeamForUpdate(ctx, teamID)
		if err != nil {
			return err
		}
		t.Calendar.Holidays = holidays
		if err := t.Calendar.Validate(); err != nil {
			return err
		}
		hs := append([]domain.Holiday(nil), holidays...)
		domain.SortHolidays(hs)
		if err := tx.SetHolidays(ctx, t.ID, hs); err != nil {
			return err
		}
		t.Calendar.Holidays = hs
		out = t
		return nil
	})
	return out, err
}
