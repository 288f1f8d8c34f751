package app

import (
	"context"
	"fmt"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// Action is a move of the case lifecycle that needs no more than a note.
type Action string

const (
	ActionAcknowledge Action = "acknowledge"
	ActionContact     Action = "contact"
	ActionWait        Action = "wait"
	ActionResume      Action = "resume"
	ActionClose       Action = "close"
	ActionReopen      Action = "reopen"
)

// TransitionCaseCommand moves a case.
type TransitionCaseCommand struct {
	CaseID string
	Action Action
	Note   string
	Actor  Actor
}

// TransitionCase moves a case along its lifecycle (see domain.Case): the move, its
// history entry and its event in one transaction, the case locked meanwhile.
type TransitionCase struct{ lifecycle }

// Handle returns the case after the move, or domain.ErrCaseNotFound, ErrNotYourTeam or a
// domain.TransitionError (wrapping domain.ErrIllegalTransition).
func (h TransitionCase) Handle(ctx context.Context, cmd TransitionCaseCommand) (CaseView, error) {
	var out domain.Case
	now := h.clock()
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		c, err := locked(ctx, tx, cmd.Actor, cmd.CaseID)
		if err != nil {
			return err
		}
		by := cmd.Actor.Name
		var t domain.Transition
		switch cmd.Action {
		case ActionAcknowledge:
			t, err = c.Acknowledge(by, now)
			if err == nil && cmd.Note != "" {
				t.Note = cmd.Note
			}
		case ActionContact:
			t, err = c.RecordContact(by, now, cmd.Note)
		case ActionWait:
			t, err = c.Wait(by, now, cmd.Note)
		case ActionResume:
			team, _, terr := h.team(ctx, c.Team)
			if terr != nil {
				return terr
			}
			t, err = c.Resume(team.Calendar, by, now, cmd.Note)
		case ActionClose:
			t, err = c.Close(by, now, cmd.Note)
		case ActionReopen:
			t, err = c.Reopen(by, now, cmd.Note)
		default:
			return fmt.Errorf("transition case: unknown action %q", cmd.Action)
		}
		if err != nil {
			return err
		}
		if out, err = tx.SaveCase(ctx, c); err != nil {
			return err
		}
		if err := tx.AddHistory(ctx, t); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.CaseChanged{Case: out, Transition: t})
	})
	if err != nil {
		return CaseView{}, err
	}
	return view(out, now), nil
}
