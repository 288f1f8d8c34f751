package convert

import (
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// earnEvent converts the events of earning rules and campaigns.
func earnEvent(e domain.Event) (proto.Message, bool) {
	switch e := e.(type) {
	case domain.CampaignBudgetExhausted:
		return &ledgerv1.CampaignBudgetExhausted{CampaignId: e.CampaignID, Name: e.Name, BudgetPoints: e.Budget,
			ExhaustedAt: Timestamp(e.At)}, true
	}
	return nil, false
}

// channel names a POS channel as earning rules see it (purchase.channel).
func channel(c commonv1.Channel) string {
	switch c {
	case commonv1.Channel_CHANNEL_STORE:
		return "store"
	case commonv1.Channel_CHANNEL_WEB:
		return "web"
	}
	return ""
}
