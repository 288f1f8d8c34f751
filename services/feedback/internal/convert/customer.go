package convert

import (
	"strconv"
	"strings"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"

	"github.com/treue/treue/services/feedback/internal/app"
)

// PointsCredited is the loyalty event of a ledger.points.credited event.
func PointsCredited(e *ledgerv1.PointsCredited) app.LoyaltyEvent {
	return app.LoyaltyEvent{
		Key: "credited:" + e.GetTransactionId(), MemberID: e.GetMemberId(), Kind: app.LoyaltyPointsCredited, Points: e.GetPoints(),
		Reason: reasonName(e.GetReason()), Reference: e.GetReference(), At: timeOrZero(e.GetOccurredAt()),
	}
}

// PointsDebited is the loyalty event of a ledger.points.debited event. A debit without
// a transaction id is named by its member, time and reference.
func PointsDebited(e *ledgerv1.PointsDebited) app.LoyaltyEvent {
	key := "debited:" + e.GetTransactionId()
	if e.GetTransactionId() == "" {
		key = "debited:" + e.GetMemberId() + ":" + strconv.FormatInt(e.GetOccurredAt().AsTime().UnixNano(), 10) + ":" + e.GetReference()
	}
	return app.LoyaltyEvent{
		Key: key, MemberID: e.GetMemberId(), Kind: app.LoyaltyPointsDebited, Points: e.GetPoints(),
		Reason: reasonName(e.GetReason()), Reference: e.GetReference(), At: timeOrZero(e.GetOccurredAt()),
	}
}

// TierChangedEvent is the loyalty event of a ledger.member.tier_changed event.
func TierChangedEvent(e *ledgerv1.MemberTierChanged) app.LoyaltyEvent {
	at := e.GetEffectiveAt().AsTime()
	return app.LoyaltyEvent{
		Key:      "tier:" + e.GetMemberId() + ":" + strconv.FormatInt(at.UnixNano(), 10) + ":" + e.GetToTier(),
		MemberID: e.GetMemberId(), Kind: app.LoyaltyTierChanged, FromTier: e.GetFromTier(), ToTier: e.GetToTier(),
		Reason: strings.TrimPrefix(e.GetReason().String(), "TIER_CHANGE_REASON_"), At: timeOrZero(e.GetEffectiveAt()),
	}
}

func reasonName(r ledgerv1.PointsReason) string {
	return strings.TrimPrefix(r.String(), "POINTS_REASON_")
}
