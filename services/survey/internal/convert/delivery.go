package convert

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/enum"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/domain"
)

// deliveryProduces are the events of delivery (part of Produces).
var deliveryProduces = []proto.Message{
	&surveyv1.InvitationSent{}, &surveyv1.InvitationSuppressed{},
	&surveyv1.InvitationDeliveryFailed{}, &surveyv1.MemberUnsubscribed{},
}

// DeliveryChannels pairs the delivery channels.
var DeliveryChannels = enum.New(map[domain.DeliveryChannel]surveyv1.DeliveryChannel{
	domain.ChannelEmail:   surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL,
	domain.ChannelWebhook: surveyv1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK,
	domain.ChannelNone:    surveyv1.DeliveryChannel_DELIVERY_CHANNEL_NONE,
	domain.ChannelReceipt: surveyv1.DeliveryChannel_DELIVERY_CHANNEL_RECEIPT,
})

var deliveryOutcomes = map[string]surveyv1.DeliveryOutcome{
	domain.OutcomeSent:     surveyv1.DeliveryOutcome_DELIVERY_OUTCOME_SENT,
	domain.OutcomeRetrying: surveyv1.DeliveryOutcome_DELIVERY_OUTCOME_RETRYING,
	domain.OutcomeFailed:   surveyv1.DeliveryOutcome_DELIVERY_OUTCOME_FAILED,
}

// deliveryEvent converts the events of delivery; ok is false for any other event.
func deliveryEvent(e domain.Event) (proto.Message, bool) {
	switch e := e.(type) {
	case domain.InvitationSent:
		return &surveyv1.InvitationSent{
			InvitationId: e.InvitationID, MemberId: e.MemberID, Channel: DeliveryChannels.Proto(e.Channel),
			Reminder: e.Reminder, SentAt: timestamppb.New(e.SentAt),
		}, true
	case domain.DeliveryFailed:
		return &surveyv1.InvitationDeliveryFailed{
			InvitationId: e.InvitationID, MemberId: e.MemberID, Channel: DeliveryChannels.Proto(e.Channel),
			Attempts: int32(e.Attempts), Error: e.Error, FailedAt: timestamppb.New(e.FailedAt),
		}, true
	case domain.DueSuppressed:
		return ToInvitationSuppressed(domain.Suppression{
			InvitationID: e.Invitation.ID, MemberID: e.Invitation.MemberID, TriggerID: e.Invitation.TriggerID,
			Touchpoint: e.Invitation.Touchpoint, Reason: e.Reason, At: e.At,
		}), true
	case domain.MemberUnsubscribed:
		return &surveyv1.MemberUnsubscribed{
			MemberId: e.MemberID, InvitationId: e.InvitationID, Channel: DeliveryChannels.Proto(e.Channel),
			UnsubscribedAt: timestamppb.New(e.At),
		}, true
	}
	return nil, false
}

// ToProtoDelivery is one row of the delivery log.
func ToProtoDelivery(d domain.Delivery) *surveyv1.Delivery {
	return &surveyv1.Delivery{
		DeliveryId: d.ID, InvitationId: d.InvitationID, Channel: DeliveryChannels.Proto(d.Channel),
		Reminder: d.Reminder, Attempt: int32(d.Attempt), Outcome: deliveryOutcomes[d.Outcome],
		Error: d.Error, AttemptedAt: timestamppb.New(d.AttemptedAt),
	}
}
