// Package convert is the one place where the contract's generated types meet the
// ledger's domain: gRPC requests and responses, the events the ledger consumes and
// emits, and the member export, in both directions.
package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/enum"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
)

var (
	reasons = enum.New(map[domain.Reason]ledgerv1.PointsReason{
		domain.ReasonPurchase:      ledgerv1.PointsReason_POINTS_REASON_PURCHASE,
		domain.ReasonReturn:        ledgerv1.PointsReason_POINTS_REASON_RETURN,
		domain.ReasonSurveyBonus:   ledgerv1.PointsReason_POINTS_REASON_SURVEY_BONUS,
		domain.ReasonAdjustment:    ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT,
		domain.ReasonGoodwill:      ledgerv1.PointsReason_POINTS_REASON_GOODWILL,
		domain.ReasonExpiry:        ledgerv1.PointsReason_POINTS_REASON_EXPIRY,
		domain.ReasonCustomEvent:   ledgerv1.PointsReason_POINTS_REASON_CUSTOM_EVENT,
		domain.ReasonMaturation:    ledgerv1.PointsReason_POINTS_REASON_MATURATION,
		domain.ReasonDebtRepayment: ledgerv1.PointsReason_POINTS_REASON_DEBT_REPAYMENT,
	})
	holdStatuses = enum.New(map[domain.HoldStatus]ledgerv1.HoldStatus{
		domain.StatusPlaced:   ledgerv1.HoldStatus_HOLD_STATUS_PLACED,
		domain.StatusCaptured: ledgerv1.HoldStatus_HOLD_STATUS_CAPTURED,
		domain.StatusVoided:   ledgerv1.HoldStatus_HOLD_STATUS_VOIDED,
		domain.StatusExpired:  ledgerv1.HoldStatus_HOLD_STATUS_EXPIRED,
	})
)

// Reason is the contract's value of r (…_UNSPECIFIED for a transaction without one).
func Reason(r domain.Reason) ledgerv1.PointsReason { return reasons.Proto(r) }

// Timestamp converts a time; the zero time becomes nil (unset).
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
