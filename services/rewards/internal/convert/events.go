package convert

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// Produces lists one message of every event type the rewards service emits; its outbox
// refuses any other.
var Produces = []proto.Message{
	&rewardsv1.RedemptionCompleted{},
	&rewardsv1.RedemptionCancelled{},
	&rewardsv1.CouponIssued{},
	&rewardsv1.CouponRedeemed{},
	&rewardsv1.CouponGuessingSuspected{},
}

// Event returns the message of a domain event.
func Event(e domain.Event) (proto.Message, error) {
	switch e := e.(type) {
	case domain.RedemptionCompleted:
		return &rewardsv1.RedemptionCompleted{
			RedemptionId: e.RedemptionID,
			MemberId:     e.MemberID,
			RewardId:     e.RewardID,
			HoldId:       e.HoldID,
			Points:       e.Points,
			CompletedAt:  timestamppb.New(e.CompletedAt),
		}, nil
	case domain.RedemptionCancelled:
		return &rewardsv1.RedemptionCancelled{
			RedemptionId: e.RedemptionID,
			MemberId:     e.MemberID,
			RewardId:     e.RewardID,
			HoldId:       e.HoldID,
			Points:       e.Points,
			Reason:       e.Reason,
			CancelledAt:  timestamppb.New(e.CancelledAt),
		}, nil
	case domain.CouponIssued:
		return &rewardsv1.CouponIssued{
			CouponId:       e.CouponID,
			RedemptionId:   e.RedemptionID,
			MemberId:       e.MemberID,
			RewardId:       e.RewardID,
			ValueMinor:     e.ValueMinor,
			Currency:       e.Currency,
			ExpiresAt:      timestamppb.New(e.ExpiresAt),
			GoodwillCaseId: e.GoodwillCaseID,
		}, nil
	case domain.CouponRedeemed:
		return &rewardsv1.CouponRedeemed{
			CouponId:   e.CouponID,
			MemberId:   e.MemberID,
			RewardId:   e.RewardID,
			StoreId:    e.StoreID,
			TerminalId: e.TerminalID,
			ValueMinor: e.ValueMinor,
			Currency:   e.Currency,
			RedeemedAt: timestamppb.New(e.RedeemedAt),
		}, nil
	case domain.CouponGuessingSuspected:
		return &rewardsv1.CouponGuessingSuspected{
			Scope:       e.Scope.Kind,
			Subject:     e.Scope.Subject,
			Failures:    int64(e.Failures),
			LockedUntil: timestamppb.New(e.LockedUntil),
			DetectedAt:  timestamppb.New(e.DetectedAt),
			KeyName:     e.KeyName,
			StoreId:     e.StoreID,
			TerminalId:  e.TerminalID,
		}, nil
	}
	return nil, fmt.Errorf("convert: %T is not an event of the rewards service", e)
}

// Events returns the messages of domain events, in order.
func Events(events []domain.Event) ([]proto.Message, error) {
	out := make([]proto.Message, len(events))
	for i, e := range events {
		m, err := Event(e)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

// MemberErasure is the domain's view of the ledger's MemberErased.
func MemberErasure(ev *ledgerv1.MemberErased) domain.MemberErasure {
	return domain.MemberErasure{MemberID: ev.GetMemberId(), ErasedAt: ev.GetErasedAt().AsTime()}
}
