package postgres

import (
	"fmt"

	"github.com/treue/treue/pkg/bus"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/adapters/protoconv"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// Subjects of the events the ledger publishes on its LEDGER stream.
const (
	SubjectMemberEnrolled    = "ledger.member.enrolled"
	SubjectPointsCredited    = "ledger.points.credited"
	SubjectPointsDebited     = "ledger.points.debited"
	SubjectHoldPlaced        = "ledger.hold.placed"
	SubjectHoldCaptured      = "ledger.hold.captured"
	SubjectHoldVoided        = "ledger.hold.voided"
	SubjectPurchaseUnmatched = "ledger.purchase.unmatched"
)

func toBusEvent(e domain.Event) (bus.Event, error) {
	switch e := e.(type) {
	case domain.MemberEnrolled:
		m := protoconv.Member(e.Member)
		return bus.NewEvent(SubjectMemberEnrolled, &ledgerv1.MemberEnrolled{
			MemberId: m.MemberId, DisplayName: m.DisplayName, Email: m.Email, Locale: m.Locale,
			SurveyConsent: m.SurveyConsent, MarketingConsent: m.MarketingConsent, Tier: m.Tier,
			EnrolledAt: m.EnrolledAt,
		}), nil
	case domain.PointsCredited:
		return bus.NewEvent(SubjectPointsCredited, &ledgerv1.PointsCredited{
			TransactionId: e.TransactionID, MemberId: e.MemberID, Points: e.Points, Reason: protoconv.Reason(e.Reason),
			Reference: e.Reference, StoreId: e.StoreID, OccurredAt: protoconv.Timestamp(e.OccurredAt),
		}), nil
	case domain.PointsDebited:
		return bus.NewEvent(SubjectPointsDebited, &ledgerv1.PointsDebited{
			TransactionId: e.TransactionID, MemberId: e.MemberID, Points: e.Points, Reason: protoconv.Reason(e.Reason),
			Reference: e.Reference, StoreId: e.StoreID, OccurredAt: protoconv.Timestamp(e.OccurredAt), Shortfall: e.Shortfall,
		}), nil
	case domain.HoldPlaced:
		h := e.Hold
		return bus.NewEvent(SubjectHoldPlaced, &ledgerv1.HoldPlaced{
			HoldId: h.ID, MemberId: h.MemberID, Points: h.Points, Reference: h.Reference, ExpiresAt: protoconv.Timestamp(h.ExpiresAt),
		}), nil
	case domain.HoldCaptured:
		h := e.Hold
		return bus.NewEvent(SubjectHoldCaptured, &ledgerv1.HoldCaptured{
			HoldId: h.ID, MemberId: h.MemberID, Points: h.Points, Reference: h.Reference, CapturedAt: protoconv.Timestamp(h.ClosedAt),
		}), nil
	case domain.HoldVoided:
		h := e.Hold
		return bus.NewEvent(SubjectHoldVoided, &ledgerv1.HoldVoided{
			HoldId: h.ID, MemberId: h.MemberID, Points: h.Points, Reference: h.Reference, Reason: h.VoidReason,
			VoidedAt: protoconv.Timestamp(h.ClosedAt),
		}), nil
	case domain.PurchaseUnmatched:
		p := e.Purchase
		return bus.NewEvent(SubjectPurchaseUnmatched, &ledgerv1.UnmatchedPurchaseRecorded{
			StoreId: p.Key.StoreID, TransactionId: p.Key.TransactionID, MemberRef: p.MemberRef,
			TotalMinor: p.TotalMinor, Currency: p.Currency, OccurredAt: protoconv.Timestamp(p.OccurredAt),
		}), nil
	}
	return bus.Event{}, fmt.Errorf("no subject for event %T", e)
}
