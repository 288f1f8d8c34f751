package app

import (
	"context"
	"errors"
	"sort"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// Assigner picks who works a case a team opens, inside the transaction that opens it.
// The zero value is ready to use.
type Assigner struct{}

// Assign returns the staff id of the active agent (role agent) of the team with the key
// who gets the next case: by the team's strategy, round robin (the agents in turn,
// ordered by staff id, after the one the last case went to) or fewest open (the agent
// with the fewest cases assigned and not yet resolved or closed; ties by staff id). It
// returns "" when the team is unknown or has no active agent. The team's assignment is
// locked until tx ends, so cases opened at once are assigned one after the other:
// whoever stores the case must do so in tx (the fewest-open count of the next
// assignment sees it once tx commits).
func (a Assigner) Assign(ctx context.Context, tx Tx, teamKey string) (string, error) {
	team, staff, err := tx.TeamOf(ctx, teamKey)
	if errors.Is(err, domain.ErrTeamNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return a.AssignInTeam(ctx, tx, team, staff)
}

// AssignInTeam is Assign for a team and its staff already read (a team without an id,
// unknown, gets ""): a batch of responses opening hundreds of cases reads each team once,
// not once per case.
func (Assigner) AssignInTeam(ctx context.Context, tx Tx, team domain.Team, staff []domain.Staff) (string, error) {
	if team.ID == "" {
		return "", nil
	}
	last, err := tx.LockAssignment(ctx, team.ID)
	if err != nil {
		return "", err
	}
	var agents []string
	for _, s := range staff {
		if s.Active && s.Role == domain.RoleAgent {
			agents = append(agents, s.ID)
		}
	}
	if len(agents) == 0 {
		return "", nil
	}
	sort.Strings(agents)
	var pick string
	switch team.Assignment {
	case domain.AssignFewestOpen:
		counts, err := tx.OpenCaseCounts(ctx, agents)
		if err != nil {
			return "", err
		}
		pick = agents[0]
		for _, a := range agents[1:] {
			if counts[a] < counts[pick] {
				pick = a
			}
		}
	default:
		pick = agents[0]
		for _, a := range agents {
			if a > last {
				pick = a
				break
			}
		}
	}
	return pick, tx.SetLastAssigned(ctx, team.ID, pick)
}
