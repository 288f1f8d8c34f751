package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// CRMUpdateResult is a case after a CRM's update.
type CRMUpdateResult struct {
	Case   CaseView
	Links  []domain.CRMLink
	Update domain.CRMUpdate
}

// crmActions are the CRM statuses that move a case, besides "resolved" (ResolveCase).
var crmActions = map[string]Action{
	"acknowledged": ActionAcknowledge,
	"contacted":    ActionContact,
	"waiting":      ActionWait,
	"resumed":      ActionResume,
	"closed":       ActionClose,
	"reopened":     ActionReopen,
}

// UpdateCaseFromCRM records a CRM's reference and note on a case and applies its status,
// all in one transaction: "resolved" resolves the case (as ResolveCase, the note its
// resolution note); acknowledged, contacted, waiting, resumed, closed and reopened move
// it (as TransitionCase, the note on the move); without a status the note becomes a
// case note (AddNote). Any other status is domain.ErrUnsupportedStatus; a move the case's
// status does not allow, domain.ErrIllegalTransition. Idempotent by key: a retry returns
// the first result (the case as it is now), the key with another request
// domain.ErrIdempotencyKeyReused. The update itself is kept too (ListCrmUpdates).
type UpdateCaseFromCRM struct {
	store      Store
	resolve    ResolveCase
	transition TransitionCase
	addNote    AddNote
	clock      func() time.Time
}

// Handle returns the case, its links and the update as first stored; also
// domain.ErrCaseNotFound and ResolveCase's errors.
func (h UpdateCaseFromCRM) Handle(ctx context.Context, u domain.CRMUpdate) (CRMUpdateResult, error) {
	action, moves := crmActions[u.Status]
	if u.Status != "" && u.Status != domain.CRMStatusResolved && !moves {
		return CRMUpdateResult{}, domain.ErrUnsupportedStatus
	}
	if u.Status == domain.CRMStatusResolved && u.Outcome == "" {
		return CRMUpdateResult{}, &domain.FieldError{Field: "outcome", Reason: "required with status resolved"}
	}
	u.ReceivedAt = h.clock().UTC().Truncate(time.Microsecond)
	hash := u.RequestHash()
	var first domain.CRMUpdate
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if _, err := tx.Case(ctx, u.CaseID); err != nil {
			return err
		}
		stored, firstHash, isNew, err := tx.AddCRMUpdate(ctx, u, hash)
		if err != nil {
			return err
		}
		first = stored
		if !isNew {
			if firstHash != hash {
				return domain.ErrIdempotencyKeyReused
			}
			return nil
		}
		if err := tx.LinkCase(ctx, u.CaseID, domain.CRMLink{ExternalSystem: u.ExternalSystem, ExternalReference: u.ExternalReference, UpdatedAt: u.ReceivedAt}); err != nil {
			return err
		}
		// The use cases below join this transaction: the update and its effect commit
		// together.
		actor := Actor{Name: u.UpdatedBy}
		switch {
		case u.Status == domain.CRMStatusResolved:
			_, err = h.resolve.Handle(ctx, ResolveCaseCommand{CaseID: u.CaseID, Outcome: u.Outcome, Note: u.Note, ResolvedBy: u.UpdatedBy, Actor: actor})
		case moves:
			_, err = h.transition.Handle(ctx, TransitionCaseCommand{CaseID: u.CaseID, Action: action, Note: u.Note, Actor: actor})
		case u.Note != "":
			_, err = h.addNote.Handle(ctx, AddNoteCommand{CaseID: u.CaseID, Text: u.Note, Actor: actor})
		}
		return err
	})
	if err != nil {
		return CRMUpdateResult{}, err
	}
	c, err := h.store.Case(ctx, u.CaseID)
	if err != nil {
		return CRMUpdateResult{}, err
	}
	links, err := h.store.CRMLinks(ctx, u.CaseID)
	if err != nil {
		return CRMUpdateResult{}, err
	}
	now := h.clock()
	return CRMUpdateResult{Case: CaseView{Case: c, Overdue: c.Overdue(now)}, Links: links, Update: first}, nil
}
