package convert

import (
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

// CustomEvent is the custom event a POS, web shop or app recorded.
func CustomEvent(ev *posv1.CustomEventRecorded) earn.CustomEvent {
	return earn.CustomEvent{EventID: ev.GetEventId(), Source: ev.GetStoreId(), MemberRef: ev.GetMemberId(), Type: ev.GetType(),
		Attributes: ev.GetAttributes(), OccurredAt: ev.GetOccurredAt().AsTime()}
}

// GoodwillGrant is the goodwill a resolved feedback case granted.
func GoodwillGrant(ev *feedbackv1.GoodwillGranted) domain.GoodwillGrant {
	return domain.GoodwillGrant{GrantID: ev.GetGrantId(), CaseID: ev.GetCaseId(), MemberRef: ev.GetMemberId(), Points: ev.GetPoints(),
		GrantedBy: ev.GetGrantedBy(), Reason: ev.GetReason(), GrantedAt: ev.GetGrantedAt().AsTime()}
}

// earnEvent converts the events of earning rules and campaigns.
func earnEvent(e domain.Event) (proto.Message, bool) {
	switch e := e.(type) {
	case domain.CampaignBudgetExhausted:
		return &ledgerv1.CampaignBudgetExhausted{CampaignId: e.CampaignID, Name: e.Name, BudgetPoints: e.Budget,
			ExhaustedAt: Timestamp(e.At)}, true
	case domain.GoodwillRefused:
		return &ledgerv1.GoodwillRefused{GrantId: e.Grant.GrantID, CaseId: e.Grant.CaseID, MemberId: e.Grant.MemberRef,
			Points: e.Grant.Points, Reason: "BUDGET_EXHAUSTED", BudgetPoints: e.Budget.Limit, UsedPoints: e.Budget.Used,
			RefusedAt: Timestamp(e.At)}, true
	}
	return nil, false
}

// channel names a POS channel as earning rules see it (purchase.channel).
// channelOf is the contract's channel of a purchase's ("store", "web", "").
func channelOf(c string) commonv1.Channel {
	switch c {
	case "store":
		return commonv1.Channel_CHANNEL_STORE
	case "web":
		return commonv1.Channel_CHANNEL_WEB
	}
	return commonv1.Channel_CHANNEL_UNSPECIFIED
}

func channel(c commonv1.Channel) string {
	switch c {
	case commonv1.Channel_CHANNEL_STORE:
		return "store"
	case commonv1.Channel_CHANNEL_WEB:
		return "web"
	}
	return ""
}
