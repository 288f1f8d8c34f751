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

// UpdateCaseFromCRM records a CRM's reference and note on a case and applies its status:
// "resolved" resolves the case (as ResolveCase, in the same transaction); "" changes
// nothing; any other status is domain.ErrUnsupportedStatus. Idempotent by key: a retry
// returns the first result (the case as it is now), the key with another request
// domain.ErrIdempotencyKeyReused.
type UpdateCaseFromCRM struct {
	store   Store
	resolve ResolveCase
	clock   func() time.Time
}

// Handle returns the case, its links and the update as first stored; also
// domain.ErrCaseNotFound and ResolveCase's errors.
func (h UpdateCaseFromCRM) Handle(ctx context.Context, u domain.CRMUpdate) (CRMUpdateResult, error) {
	if u.Status != "" && u.Status != domain.CRMStatusResolved {
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
		if u.Status == domain.CRMStatusResolved {
			// Joins this transaction: the update and the resolution commit together.
			_, err := h.resolve.Handle(ctx, ResolveCaseCommand{CaseID: u.CaseID, Outcome: u.Outcome, Note: u.Note, ResolvedBy: u.UpdatedBy})
			return err
		}
		return nil
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
