package domain

import (
	"errors"
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// Role is what a member of staff does in a team. The escalation chain runs agent → team
// lead → manager.
type Role string

const (
	RoleAgent    Role = "agent"
	RoleTeamLead Role = "team_lead"
	RoleManager  Role = "manager"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAgent || r == RoleTeamLead || r == RoleManager }

// AssignmentStrategy is how a team's new cases find their assignee.
type AssignmentStrategy string

const (
	// AssignRoundRobin: the active agents in turn (ordered by staff id).
	AssignRoundRobin AssignmentStrategy = "ROUND_ROBIN"
	// AssignFewestOpen: the active agent with the fewest cases not yet resolved (ties by
	// staff id).
	AssignFewestOpen AssignmentStrategy = "FEWEST_OPEN"
)

// Valid reports whether a is a known strategy.
func (a AssignmentStrategy) Valid() bool { return a == AssignRoundRobin || a == AssignFewestOpen }

// Team is a group of staff that works the cases routed to its key.
type Team struct {
	ID string
	// Key is the slug routing rules and cases name the team by ("customer-service").
	Key        string
	Name       string
	Calendar   Calendar
	Assignment AssignmentStrategy
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Staff is a person who works cases. A staff row is the same person as the staff
// sign-in account (pkg/staff) with the same email.
type Staff struct {
	ID, TeamID, Name, Email string
	Role                    Role
	Active                  bool
}

var (
	// ErrInvalidTeam: a team or staff definition that breaks a rule (see FieldError).
	ErrInvalidTeam = errors.New("invalid team")
	// ErrTeamNotFound: no team has the id or key.
	ErrTeamNotFound = errors.New("team not found")
	// ErrTeamExists: another team has the key.
	ErrTeamExists = errors.New("team key taken")
	// ErrStaffNotFound: no staff has the id.
	ErrStaffNotFound = errors.New("staff not found")
	// ErrStaffEmailTaken: another staff row has the email.
	ErrStaffEmailTaken = errors.New("staff email taken")
)

// FieldError is a request that breaks a rule; Field names the request field
// ("hours.monday[1].end"), Reason says why.
type FieldError struct {
	Field, Reason string
	Err           error // the sentinel it is, if any
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

var teamKeyPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidTeamKey reports whether key is a slug: lower-case letters and digits in words
// joined by single hyphens, at most 64 characters.
func ValidTeamKey(key string) bool { return len(key) <= 64 && teamKeyPattern.MatchString(key) }

// Validate checks a team before it is stored. Errors are *FieldError.
func (t Team) Validate() error {
	if !ValidTeamKey(t.Key) {
		return &FieldError{Field: "key", Reason: "must be a slug like customer-service (a-z, 0-9, single hyphens, at most 64)", Err: ErrInvalidTeam}
	}
	if n := strings.TrimSpace(t.Name); n == "" || len(t.Name) > 200 {
		return &FieldError{Field: "name", Reason: "must be 1–200 characters", Err: ErrInvalidTeam}
	}
	if !t.Assignment.Valid() {
		return &FieldError{Field: "assignment", Reason: "must be ROUND_ROBIN or FEWEST_OPEN", Err: ErrInvalidTeam}
	}
	return t.Calendar.Validate()
}

// NormalizeEmail is the form emails are stored and compared in: trimmed, lower case.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Validate checks a staff row before it is stored (Email normalised). Errors are
// *FieldError.
func (s Staff) Validate() error {
	if n := strings.TrimSpace(s.Name); n == "" || len(s.Name) > 200 {
		return &FieldError{Field: "name", Reason: "must be 1–200 characters", Err: ErrInvalidTeam}
	}
	if a, err := mail.ParseAddress(s.Email); err != nil || a.Address != s.Email || a.Name != "" || len(s.Email) > 254 {
		return &FieldError{Field: "email", Reason: "must be a plain email address", Err: ErrInvalidTeam}
	}
	if !s.Role.Valid() {
		return &FieldError{Field: "role", Reason: "must be agent, team_lead or manager", Err: ErrInvalidTeam}
	}
	if s.TeamID == "" {
		return &FieldError{Field: "team_id", Reason: "is required", Err: ErrInvalidTeam}
	}
	return nil
}
