package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// OrgStore reads teams and staff.
type OrgStore interface {
	// Team returns the team (with its holidays) whose id or key is idOrKey;
	// domain.ErrTeamNotFound when none.
	Team(ctx context.Context, idOrKey string) (domain.Team, error)
	// Teams returns every team by key.
	Teams(ctx context.Context) ([]domain.Team, error)
	// StaffList returns staff by name: of the team (every team when teamID is ""), the
	// inactive too when includeInactive.
	StaffList(ctx context.Context, teamID string, includeInactive bool) ([]domain.Staff, error)
	// TeamOf returns the team with the key (with its holidays) and all its staff (the
	// inactive too) by id; domain.ErrTeamNotFound when none.
	TeamOf(ctx context.Context, key string) (domain.Team, []domain.Staff, error)
}

// OrgTx changes teams and staff, and assigns cases, in a transaction.
type OrgTx interface {
	// CreateTeam stores t, or returns the team stored under the same idempotency key and
	// its request's hash (created false); domain.ErrTeamExists when another team has
	// t's key.
	CreateTeam(ctx context.Context, t domain.Team, idempotencyKey, requestHash string) (stored domain.Team, storedHash string, created bool, err error)
	// TeamForUpdate returns the team by id, locked until the transaction ends;
	// domain.ErrTeamNotFound when none.
	TeamForUpdate(ctx context.Context, id string) (domain.Team, error)
	// SaveTeam stores t's name, time zone, hours and assignment strategy, and returns it
	// as stored.
	SaveTeam(ctx context.Context, t domain.Team) (domain.Team, error)
	// SetHolidays replaces the team's holidays.
	SetHolidays(ctx context.Context, teamID string, holidays []domain.Holiday) error
	// AddStaff stores s, or returns the staff stored under the same idempotency key and
	// its request's hash (created false); domain.ErrTeamNotFound for an unknown team,
	// domain.ErrStaffEmailTaken when another staff row has the email.
	AddStaff(ctx context.Context, s domain.Staff, idempotencyKey, requestHash string) (stored domain.Staff, storedHash string, created bool, err error)
	// SaveStaff stores s (found by id); domain.ErrStaffNotFound, domain.ErrTeamNotFound,
	// domain.ErrStaffEmailTaken.
	SaveStaff(ctx context.Context, s domain.Staff) (domain.Staff, error)
	// TeamOf is OrgStore.TeamOf in the transaction.
	TeamOf(ctx context.Context, key string) (domain.Team, []domain.Staff, error)
	// LockAssignment locks the team's assignment until the transaction ends (a second
	// assignment to the team waits) and returns the staff id the last case went to ("" at
	// first).
	LockAssignment(ctx context.Context, teamID string) (lastStaffID string, err error)
	// SetLastAssigned records the staff id the team's last case went to.
	SetLastAssigned(ctx context.Context, teamID, staffID string) error
	// OpenCaseCounts counts, per staff id, the cases assigned to them that are not yet
	// resolved or closed (ids without any are missing from the map).
	OpenCaseCounts(ctx context.Context, staffIDs []string) (map[string]int, error)
}
