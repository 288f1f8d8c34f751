package app

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// LifecycleTx is what the case lifecycle changes inside a transaction.
type LifecycleTx interface {
	// CaseForUpdate returns the case locked until the transaction ends;
	// domain.ErrCaseNotFound when no case has id.
	CaseForUpdate(ctx context.Context, id string) (domain.Case, error)
	// SaveCase stores c's status, lifecycle and resolution and returns it as stored.
	SaveCase(ctx context.Context, c domain.Case) (domain.Case, error)
	// AddHistory records transitions.
	AddHistory(ctx context.Context, ts ...domain.Transition) error
	// AddNote stores a note and returns it with its id.
	AddNote(ctx context.Context, n domain.Note) (domain.Note, error)
	// MoveNotes moves the notes of case from to case to and returns how many.
	MoveNotes(ctx context.Context, from, to string) (int, error)
	// Escalate raises the case's escalation level to level if it is lower; false when it
	// was not (another sweep did it).
	Escalate(ctx context.Context, id string, level int) (bool, error)
	// MarkReminded records the case's reminder at at, if it had none; false otherwise.
	MarkReminded(ctx context.Context, id string, at time.Time) (bool, error)
	// SweepCandidates returns, locked (skipping cases locked elsewhere), up to limit
	// cases being worked that are not at the top escalation level, earliest deadline
	// (domain.Case.EarliestDeadline) first, then by id; after, when not nil, is where the
	// previous page ended.
	SweepCandidates(ctx context.Context, after *SweepCursor, limit int) ([]domain.Case, error)
}

// LifecycleStore reads a case's history and notes.
type LifecycleStore interface {
	History(ctx context.Context, caseID string) ([]domain.Transition, error)
	Notes(ctx context.Context, caseID string) ([]domain.Note, error)
}

// Organisation is what the lifecycle needs to know of teams and staff.
type Organisation interface {
	// TeamOf returns the team of key with its staff; domain.ErrTeamNotFound when none.
	TeamOf(ctx context.Context, key string) (domain.Team, []domain.Staff, error)
}

// CaseAssigner picks the staff member a case of a team is assigned to, in tx.
type CaseAssigner interface {
	// AssignCase returns a staff id, or "" when the team has no active agent.
	Assign(ctx context.Context, tx Tx, teamKey string) (string, error)
	// AssignInTeam is Assign for a team and its staff the caller has read, moving the
	// team's cursor of this transaction (the caller saves it).
	AssignInTeam(ctx context.Context, tx Tx, team domain.Team, staff []domain.Staff, cur *AssignCursor) (string, error)
}

// Notifier tells a staff member about a case (by email).
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Notification is a message to a staff member about a case.
type Notification struct {
	To      domain.Staff
	Subject string
	Body    string
	CaseID  string
}

// LifecycleDeps are what the lifecycle needs beyond Deps. Org and Assigner may be nil
// (every team 24x7 without staff; cases unassigned), Notifier too (no emails).
type LifecycleDeps struct {
	Org Organisation
	// OrgInTx reads teams in the use case's transaction (Tx.TeamOf) instead of Org: a
	// transaction holding a case's lock must not wait for a second connection.
	OrgInTx  bool
	Assigner CaseAssigner
	Notifier Notifier
	// DefaultFirstContact is the first-contact target of a rule without one.
	DefaultFirstContact time.Duration
	Sweep               domain.SweepPolicy
}

// SweepCursor is where a page of the SLA sweep ended: the last case's earliest deadline
// and id.
type SweepCursor struct {
	Deadline time.Time
	CaseID   string
}

// Actor is who calls a lifecycle use case: Name is recorded as who acted; Teams, when
// not nil, are the only teams whose cases the actor may see and change.
type Actor struct {
	Name  string
	Teams []string
	// Roles are the caller's (a goodwill grant is limited by the highest).
	Roles []string
}

// May reports whether the actor may work team's cases.
func (a Actor) May(team string) bool { return a.Teams == nil || slices.Contains(a.Teams, team) }

// ErrNotYourTeam: the actor may not work cases of the case's team.
var ErrNotYourTeam = errors.New("the case belongs to another team")

// LifecycleCommands are the case lifecycle's commands.
type LifecycleCommands struct {
	TransitionCase TransitionCase
	AddNote        AddNote
	ReassignCase   ReassignCase
	MergeCases     MergeCases
	SweepCases     SweepCases
}

// lifecycle is what the lifecycle use cases share.
type lifecycle struct {
	store Store
	clock func() time.Time
	deps  LifecycleDeps
	log   interface {
		WarnContext(ctx context.Context, msg string, args ...any)
	}
}

func newLifecycle(d Deps) LifecycleCommands {
	l := lifecycle{store: d.Store, clock: d.Clock, deps: d.Lifecycle, log: d.Log}
	return LifecycleCommands{
		TransitionCase: TransitionCase{l},
		AddNote:        AddNote{l},
		ReassignCase:   ReassignCase{l},
		MergeCases:     MergeCases{l},
		SweepCases:     SweepCases{l},
	}
}

// team returns the team of key and its staff, read in tx (OrgInTx) or from Org: a team
// the organisation does not know works around the clock without staff.
func (l lifecycle) team(ctx context.Context, tx Tx, key string) (domain.Team, []domain.Staff, error) {
	org := l.deps.Org
	if l.deps.OrgInTx {
		org = tx
	}
	if org == nil {
		return domain.Team{Key: key, Calendar: domain.Always()}, nil, nil
	}
	t, staff, err := org.TeamOf(ctx, key)
	if errors.Is(err, domain.ErrTeamNotFound) {
		return domain.Team{Key: key, Calendar: domain.Always()}, nil, nil
	}
	return t, staff, err
}

// locked reads the case for update in tx and checks the actor may work it.
func locked(ctx context.Context, tx Tx, a Actor, id string) (domain.Case, error) {
	c, err := tx.CaseForUpdate(ctx, id)
	if err != nil {
		return domain.Case{}, err
	}
	if !a.May(c.Team) {
		return domain.Case{}, ErrNotYourTeam
	}
	return c, nil
}

// staffByID finds a staff member of a team's staff.
func staffByID(staff []domain.Staff, id string) (domain.Staff, bool) {
	for _, s := range staff {
		if s.ID == id {
			return s, true
		}
	}
	return domain.Staff{}, false
}

// staffInRole is the first active staff member of role (by id).
func staffInRole(staff []domain.Staff, role domain.Role) (domain.Staff, bool) {
	var best domain.Staff
	found := false
	for _, s := range staff {
		if s.Active && s.Role == role && (!found || s.ID < best.ID) {
			best, found = s, true
		}
	}
	return best, found
}

// notify sends notifications after the change committed; a failed email is logged, not
// retried.
func (l lifecycle) notify(ctx context.Context, ns []Notification) {
	if l.deps.Notifier == nil {
		return
	}
	for _, n := range ns {
		if n.To.Email == "" {
			continue
		}
		if err := l.deps.Notifier.Notify(ctx, n); err != nil {
			l.log.WarnContext(ctx, "case notification failed", "case_id", n.CaseID, "to", n.To.ID, "err", err)
		}
	}
}

// view returns the case as callers see it at now.
func view(c domain.Case, now time.Time) CaseView {
	return CaseView{Case: c, Overdue: c.Overdue(now), At: now}
}

// teamCache keeps the teams a batch has read, by key, with their assignment cursors.
type teamCache map[string]*cachedTeam

type cachedTeam struct {
	team   domain.Team
	staff  []domain.Staff
	cursor AssignCursor
}

// saveCursors writes the assignment cursors the batch moved.
func (teams teamCache) saveCursors(ctx context.Context, tx Tx) error {
	for _, t := range teams {
		if err := t.cursor.Save(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// open starts the lifecycle of a case just stored: assigned by the team's assignment,
// its due times from the rule's targets in the team's calendar, its history begun. It
// returns the case as stored and the assignee's email. teams caches the batch's teams.
func (l lifecycle) open(ctx context.Context, tx Tx, c domain.Case, rule domain.Rule, teams teamCache) (domain.Case, []Notification, error) {
	cached, ok := teams[c.Team]
	if !ok {
		var err error
		cached = &cachedTeam{}
		if cached.team, cached.staff, err = l.team(ctx, tx, c.Team); err != nil {
			return c, nil, err
		}
		teams[c.Team] = cached
	}
	team, staff := cached.team, cached.staff
	var err error
	if l.deps.Assigner != nil {
		if c.Assignee, err = l.deps.Assigner.AssignInTeam(ctx, tx, team, staff, &cached.cursor); err != nil {
			return c, nil, err
		}
	}
	// The rule's targets; a rule without a first-contact target gets the service's.
	sla := domain.SLA{FirstContact: rule.FirstContactSLA, Resolution: rule.ResolutionSLA}
	if sla.FirstContact <= 0 {
		sla.FirstContact = l.deps.DefaultFirstContact
	}
	if sla.FirstContact <= 0 || sla.FirstContact > sla.Resolution {
		sla.FirstContact = sla.Resolution
	}
	c.Priority, c.TaskType = rule.Priority.Rank(), string(rule.TaskType)
	c.ApplySLA(sla, team.Calendar)
	if c, err = tx.SaveCase(ctx, c); err != nil {
		return c, nil, err
	}
	note := "assigned to " + orNobody(c.Assignee)
	if err := tx.AddHistory(ctx, domain.Transition{CaseID: c.ID, To: c.Status, Action: "open", By: "routing", At: c.OpenedAt, Note: note}); err != nil {
		return c, nil, err
	}
	if s, ok := staffByID(staff, c.Assignee); ok {
		return c, []Notification{assignedMail(s, c)}, nil
	}
	return c, nil, nil
}
