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
	var cur AssignCursor
	pick, err := a.AssignInTeam(ctx, tx, team, staff, &cur)
	if err != nil {
		return "", err
	}
	return pick, cur.Save(ctx, tx)
}

// AssignCursor is a team's assignment cursor as locked in a transaction: a batch opening
// many cases of a team locks and reads it once and writes it once (Save), instead of
// three statements per case. The zero value is not yet locked.
type AssignCursor struct {
	teamID      string
	locked      bool
	last, saved string
}

// Save writes the cursor if an assignment moved it.
func (c *AssignCursor) Save(ctx context.Context, tx Tx) error {
	if !c.locked || c.last == c.saved {
		return nil
	}
	if err := tx.SetLastAssigned(ctx, c.teamID, c.last); err != nil {
		return err
	}
	c.saved = c.last
	return nil
}

// AssignInTeam is Assign for a team and its staff already read (a team without an id,
// unknown, gets ""), with the team's cursor of this transaction: a batch of responses
// opening hundreds of cases reads each team once, not once per case. The caller Saves
// cur before tx commits.
func (Assigner) AssignInTeam(ctx context.Context, tx Tx, team domain.Team, staff []domain.Staff, cur *AssignCursor) (string, error) {
	if team.ID == "" {
		return "", nil
	}
	if !cur.locked {
		last, err := tx.LockAssignment(ctx, team.ID)
		if err != nil {
			return "", err
		}
		*cur = AssignCursor{teamID: team.ID, locked: true, last: last, saved: last}
	}
	last := cur.last
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
	cur.last = pick
	return pick, nil
}
