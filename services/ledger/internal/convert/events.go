package convert

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// Produces lists one message of every event type the ledger emits; the outbox refuses
// any other.
var Produces = []proto.Message{
	&ledgerv1.MemberEnrolled{},
	&ledgerv1.MemberErased{},
	&ledgerv1.PointsCredited{},
	&ledgerv1.PointsDebited{},
	&ledgerv1.HoldPlaced{},
	&ledgerv1.HoldCaptured{},
	&ledgerv1.HoldVoided{},
	&ledgerv1.UnmatchedPurchaseRecorded{},
	&ledgerv1.MemberConsentChanged{},
	&ledgerv1.PointsExpiringSoon{},
	&ledgerv1.MemberTierChanged{},
	&ledgerv1.CampaignBudgetExhausted{},
	&ledgerv1.MemberUpdated{},
	&ledgerv1.PurchaseMatched{},
	&ledgerv1.GoodwillRefused{},
}

// Event converts a domain event to the message the ledger publishes.
func Event(e domain.Event) (proto.Message, error) {
	switch e := e.(type) {
	case domain.MemberEnrolled:
		m := e.Member
		return &ledgerv1.MemberEnrolled{
			MemberId: m.ID, DisplayName: m.DisplayName, Email: m.Email, Locale: m.Locale,
			SurveyConsent: m.SurveyConsent, MarketingConsent: m.MarketingConsent, Tier: m.Tier,
			EnrolledAt: Timestamp(m.EnrolledAt), TimeZone: m.TimeZone, Phone: e.Phone, Tags: e.Tags,
			ReferralCode: m.ReferralCode,
		}, nil
	case domain.MemberUpdated:
		return &ledgerv1.MemberUpdated{
			MemberId: e.MemberID, Email: e.Email, Phone: e.Phone, Locale: e.Locale, TimeZone: e.TimeZone,
			Tags: e.Tags, Tier: e.Tier, UpdatedAt: Timestamp(e.UpdatedAt), ReferralCode: e.ReferralCode,
			DisplayName: e.DisplayName,
		}, nil
	case domain.PurchaseMatched:
		p := e.Purchase
		return &ledgerv1.PurchaseMatched{
			MemberId: p.MemberID, StoreId: p.Key.StoreID, TransactionId: p.Key.TransactionID, PosEventId: p.EventID,
			TotalMinor: p.TotalMinor, Currency: p.Currency, Channel: channelOf(p.Channel), EmployeeId: p.EmployeeID,
			OccurredAt: Timestamp(p.OccurredAt),
		}, nil
	case domain.MemberErased:
		return &ledgerv1.MemberErased{MemberId: e.MemberID, ErasedAt: Timestamp(e.ErasedAt)}, nil
	case domain.PointsCredited:
		return &ledgerv1.PointsCredited{
			TransactionId: e.TransactionID, MemberId: e.MemberID, Points: e.Points, Reason: Reason(e.Reason),
			Reference: e.Reference, StoreId: e.StoreID, OccurredAt: Timestamp(e.OccurredAt),
		}, nil
	case domain.PointsDebited:
		return &ledgerv1.PointsDebited{
			TransactionId: e.TransactionID, MemberId: e.MemberID, Points: e.Points, Reason: Reason(e.Reason),
			Reference: e.Reference, StoreId: e.StoreID, OccurredAt: Timestamp(e.OccurredAt), Shortfall: e.Shortfall,
		}, nil
	case domain.HoldPlaced:
		h := e.Hold
		return &ledgerv1.HoldPlaced{
			HoldId: h.ID, MemberId: h.MemberID, Points: h.Points, Reference: h.Reference, ExpiresAt: Timestamp(h.ExpiresAt),
		}, nil
	case domain.HoldCaptured:
		h := e.Hold
		return &ledgerv1.HoldCaptured{
			HoldId: h.ID, MemberId: h.MemberID, Points: h.Points, Reference: h.Reference, CapturedAt: Timestamp(h.ClosedAt),
		}, nil
	case domain.HoldVoided:
		h := e.Hold
		return &ledgerv1.HoldVoided{
			HoldId: h.ID, MemberId: h.MemberID, Points: h.Points, Reference: h.Reference, Reason: h.VoidReason,
			VoidedAt: Timestamp(h.ClosedAt),
		}, nil
	case domain.PurchaseUnmatched:
		p := e.Purchase
		return &ledgerv1.UnmatchedPurchaseRecorded{
			StoreId: p.Key.StoreID, TransactionId: p.Key.TransactionID, MemberRef: p.MemberRef,
			TotalMinor: p.TotalMinor, Currency: p.Currency, OccurredAt: Timestamp(p.OccurredAt),
		}, nil
	case domain.MemberConsentChanged:
		return consentChanged(e), nil
	case domain.PointsExpiringSoon:
		return pointsExpiringSoon(e), nil
	}
	if m := tierEvent(e); m != nil {
		return m, nil
	}
	if m, ok := earnEvent(e); ok {
		return m, nil
	}
	return nil, fmt.Errorf("convert: no message for event %T", e)
}

// Purchase is the purchase a till recorded.
func Purchase(ev *posv1.PurchaseRecorded) domain.Purchase {
	return domain.Purchase{
		Key:        domain.PurchaseKey{StoreID: ev.GetStoreId(), TransactionID: ev.GetTransactionId()},
		EventID:    ev.GetEventId(),
		MemberRef:  ev.GetMemberId(),
		OccurredAt: ev.GetOccurredAt().AsTime(),
		Currency:   ev.GetCurrency(),
		TotalMinor: ev.GetTotalMinor(),
		Lines:      lines(ev.GetLines()),
		Channel:    channel(ev.GetChannel()),
		EmployeeID: ev.GetEmployeeId(),
	}
}

// Return is the return a till recorded; deliveries counts the attempts to book it.
func Return(ev *posv1.ReturnRecorded, deliveries uint64) domain.Return {
	return domain.Return{
		Key:                   domain.ReturnKey{StoreID: ev.GetStoreId(), ReturnID: ev.GetReturnId()},
		OriginalTransactionID: ev.GetOriginalTransactionId(),
		EventID:               ev.GetEventId(),
		MemberRef:             ev.GetMemberId(),
		OccurredAt:            ev.GetOccurredAt().AsTime(),
		Currency:              ev.GetCurrency(),
		TotalMinor:            ev.GetTotalMinor(),
		Lines:                 lines(ev.GetLines()),
		Deliveries:            int(deliveries),
	}
}

func lines(ls []*posv1.Line) []domain.Line {
	if len(ls) == 0 {
		return nil
	}
	out := make([]domain.Line, len(ls))
	for i, l := range ls {
		out[i] = domain.Line{SKU: l.GetSku(), Description: l.GetDescription(), Quantity: l.GetQuantity(), AmountMinor: l.GetAmountMinor(),
			Category: l.GetCategory(), Brand: l.GetBrand()}
	}
	return out
}

// SurveyResponse is who a submitted response's bonus goes to.
func SurveyResponse(ev *surveyv1.ResponseSubmitted) domain.SurveyResponse {
	return domain.SurveyResponse{ResponseID: ev.GetResponseId(), MemberRef: ev.GetMemberId(), StoreID: ev.GetStoreId()}
}

// Unsubscribe is the member who followed a survey email's unsubscribe link.
func Unsubscribe(ev *surveyv1.MemberUnsubscribed) domain.Unsubscribe {
	return domain.Unsubscribe{MemberID: ev.GetMemberId(), InvitationID: ev.GetInvitationId(), At: ev.GetUnsubscribedAt().AsTime()}
}

// RedemptionCompleted is the completed redemption's claim on its hold.
func RedemptionCompleted(ev *rewardsv1.RedemptionCompleted) domain.Redemption {
	return domain.Redemption{RedemptionID: ev.GetRedemptionId(), HoldID: ev.GetHoldId()}
}

// RedemptionCancelled is the cancelled redemption's claim on its hold.
func RedemptionCancelled(ev *rewardsv1.RedemptionCancelled) domain.Redemption {
	return domain.Redemption{RedemptionID: ev.GetRedemptionId(), HoldID: ev.GetHoldId(), Reason: ev.GetReason()}
}
