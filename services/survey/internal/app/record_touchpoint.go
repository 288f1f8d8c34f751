package app

import (
	"context"

	"github.com/treue/treue/services/survey/internal/domain"
)

// RecordTouchpoint takes in one touchpoint reported through the API, as the touchpoint
// stream does: the trigger rules decide whether and when it earns an invitation. A
// retry with the same event id changes nothing and answers the same.
type RecordTouchpoint struct {
	store    Store
	triggers *EvaluateTriggers
}

// Handle evaluates the touchpoint; the result carries the invitation scheduled for it
// (now or by an earlier call) or why there is none.
func (h *RecordTouchpoint) Handle(ctx context.Context, t domain.Trigger) (Result, Evaluated, error) {
	now := h.triggers.now()
	if t.OccurredAt.IsZero() {
		t.OccurredAt = now.UTC()
	}
	if t.OccurredAt.After(now.Add(domain.MaxTouchpointClockSkew)) {
		return Result{}, Evaluated{}, &domain.FieldError{Field: "occurred_at", Reason: "in the future"}
	}
	var out Evaluated
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) (err error) {
		out, err = h.triggers.evaluate(ctx, tx, []Incoming{{Trigger: t, Trace: ctx}})
		return err
	})
	if err != nil {
		return Result{}, Evaluated{}, err
	}
	res := out.Results[t.EventID]
	if res.Invitation == nil && res.InvitationID != "" {
		inv, _, err := h.store.Invitation(ctx, res.InvitationID)
		if err != nil {
			return Result{}, Evaluated{}, err
		}
		res.Invitation, res.Outcome = &inv, domain.OutcomeScheduled
	}
	if res.Invitation != nil {
		if res.URL, err = h.triggers.links.URL(*res.Invitation); err != nil {
			return Result{}, Evaluated{}, err
		}
	}
	return res, out, nil
}
