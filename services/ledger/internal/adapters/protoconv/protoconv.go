// Package protoconv converts the ledger's domain values to the contract's messages, for
// the gRPC port and the outbox alike.
package protoconv

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// Reason maps a reason to the contract's enum.
func Reason(r domain.Reason) ledgerv1.PointsReason {
	switch r {
	case domain.ReasonPurchase:
		return ledgerv1.PointsReason_POINTS_REASON_PURCHASE
	case domain.ReasonReturn:
		return ledgerv1.PointsReason_POINTS_REASON_RETURN
	case domain.ReasonSurveyBonus:
		return ledgerv1.PointsReason_POINTS_REASON_SURVEY_BONUS
	case domain.ReasonAdjustment:
		return ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT
	case domain.ReasonExpiry:
		return ledgerv1.PointsReason_POINTS_REASON_EXPIRY
	}
	return ledgerv1.PointsReason_POINTS_REASON_UNSPECIFIED
}

// HoldStatus maps a hold's status to the contract's enum.
func HoldStatus(s domain.HoldStatus) ledgerv1.HoldStatus {
	switch s {
	case domain.StatusPlaced:
		return ledgerv1.HoldStatus_HOLD_STATUS_PLACED
	case domain.StatusCaptured:
		return ledgerv1.HoldStatus_HOLD_STATUS_CAPTURED
	case domain.StatusVoided:
		return ledgerv1.HoldStatus_HOLD_STATUS_VOIDED
	case domain.StatusExpired:
		return ledgerv1.HoldStatus_HOLD_STATUS_EXPIRED
	}
	return ledgerv1.HoldStatus_HOLD_STATUS_UNSPECIFIED
}

// Member converts a member.
func Member(m domain.Member) *ledgerv1.Member {
	return &ledgerv1.Member{
		MemberId: m.ID, DisplayName: m.DisplayName, Email: m.Email, Locale: m.Locale,
		SurveyConsent: m.SurveyConsent, MarketingConsent: m.MarketingConsent, Tier: m.Tier,
		EnrolledAt: Timestamp(m.EnrolledAt),
	}
}

// Hold converts a hold.
func Hold(h domain.Hold) *ledgerv1.Hold {
	return &ledgerv1.Hold{
		HoldId: h.ID, MemberId: h.MemberID, Points: h.Points, Reference: h.Reference,
		Status: HoldStatus(h.Status), ExpiresAt: Timestamp(h.ExpiresAt),
	}
}

// Timestamp converts a time; the zero time becomes nil (unset).
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
