package convert

import (
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/treue/treue/pkg/enum"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/rewards/internal/app"
)

var holdStatuses = enum.New(map[app.HoldStatus]ledgerv1.HoldStatus{
	app.HoldPlaced:   ledgerv1.HoldStatus_HOLD_STATUS_PLACED,
	app.HoldCaptured: ledgerv1.HoldStatus_HOLD_STATUS_CAPTURED,
	app.HoldVoided:   ledgerv1.HoldStatus_HOLD_STATUS_VOIDED,
	app.HoldExpired:  ledgerv1.HoldStatus_HOLD_STATUS_EXPIRED,
})

// PlaceHoldRequest is the ledger's request for a hold.
func PlaceHoldRequest(req app.HoldRequest) *ledgerv1.PlaceHoldRequest {
	return &ledgerv1.PlaceHoldRequest{
		IdempotencyKey: req.IdempotencyKey,
		MemberId:       req.MemberID,
		Points:         req.Points,
		Reference:      req.Reference,
		Ttl:            durationpb.New(req.TTL),
	}
}

// Hold is the ledger's hold as a redemption sees it. A status the ledger adds later
// reads as placed: the redemption then completes, and the ledger decides on capture.
func Hold(h *ledgerv1.Hold) app.Hold {
	status, ok := holdStatuses.Domain(h.GetStatus())
	if !ok {
		status = app.HoldPlaced
	}
	return app.Hold{ID: h.GetHoldId(), Status: status}
}
