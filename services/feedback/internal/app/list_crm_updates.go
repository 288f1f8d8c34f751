package app

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// CRMHistory is what CRMs said about a case.
type CRMHistory struct {
	Links   []domain.CRMLink
	Updates []domain.CRMUpdate
}

// ListCrmUpdates returns a case's external references and CRM updates.
type ListCrmUpdates struct{ store Store }

// Handle returns them, or domain.ErrCaseNotFound.
func (h ListCrmUpdates) Handle(ctx context.Context, caseID string) (CRMHistory, error) {
	if _, err := h.store.Case(ctx, caseID); err != nil {
		return CRMHistory{}, err
	}
	links, err := h.store.CRMLinks(ctx, caseID)
	if err != nil {
		return CRMHistory{}, err
	}
	updates, err := h.store.CRMUpdates(ctx, caseID)
	return CRMHistory{Links: links, Updates: updates}, err
}
