package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// ErrNotTeamStaff: the staff member to assign is not an active member of the case's team.
var ErrNotTeamStaff = errors.New("not an active staff member of the case's team")

// ReassignCaseCommand hands a case to StaffID, or back to the team's assignment when
// StaffID is "".
type ReassignCaseCommand struct {
	CaseID  string
	StaffID string
	Note    string
	Actor   Actor
}

// ReassignCase hands a case to another staff member of its team; the history keeps who
// had it. The new assignee gets an email.
type ReassignCase struct{ lifecycle }

// Handle returns the case, or domain.ErrCaseNotFound, ErrNotYourTeam, ErrNotTeamStaff or
// a domain.TransitionError.
func (h ReassignCase) Handle(ctx context.Context, cmd ReassignCaseCommand) (CaseView, error) {
	var out domain.Case
	var mail []Notification
	now := h.clock()
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		c, err := locked(ctx, tx, cmd.Actor, cmd.CaseID)
		if err != nil {
			return err
		}
		_, staff, err := h.team(ctx, c.Team)
		if err != nil {
			return err
		}
		to := cmd.StaffID
		if to == "" {
			if h.deps.Assigner == nil {
				return fmt.Errorf("%w: the team has no assignment", ErrNotTeamStaff)
			}
			if to, err = h.deps.Assigner.Assign(ctx, tx, c.Team); err != nil {
				return err
			}
		} else if s, ok := staffByID(staff, to); !ok || !s.Active {
			return fmt.Errorf("%w: %s", ErrNotTeamStaff, to)
		}
		from := c.Assignee
		t, err := c.Reassign(to, cmd.Actor.Name, now, cmd.Note)
		if err != nil {
			return err
		}
		if out, err = tx.SaveCase(ctx, c); err != nil {
			return err
		}
		if err := tx.AddHistory(ctx, t); err != nil {
			return err
		}
		if s, ok := staffByID(staff, to); ok {
			mail = append(mail, assignedMail(s, out))
		}
		return tx.Emit(ctx, domain.CaseChanged{Case: out, Transition: t, FromAssignee: from})
	})
	if err != nil {
		return CaseView{}, err
	}
	h.notify(ctx, mail)
	return view(out, now), nil
}

// assignedMail tells s that c is theirs now.
func assignedMail(s domain.Staff, c domain.Case) Notification {
	return Notification{
		To:      s,
		CaseID:  c.ID,
		Subject: fmt.Sprintf("Case %s assigned to you", c.ID),
		Body: fmt.Sprintf("Hello %s,\n\nthe case %s (%s, team %s, score %d) is assigned to you.\n"+
			"First contact due: %s\nResolution due: %s\n\nComment: %s\n",
			s.Name, c.ID, c.Kind, c.Team, c.Score, stamp(c.FirstContactDueAt), stamp(c.DueAt), c.Comment),
	}
}
