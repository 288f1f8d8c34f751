package convert_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/validate"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/internal/convert"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// Every domain event becomes a message the service declares it produces, valid by the
// contract's rules, with its fields where the consumers read them.
func TestEvents(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const (
		redemption = "0190a000-0000-7000-8000-000000000001"
		member     = "0190a000-0000-7000-8000-000000000002"
		reward     = "0190a000-0000-7000-8000-000000000003"
		hold       = "0190a000-0000-7000-8000-000000000004"
		coupon     = "0190a000-0000-7000-8000-000000000005"
	)
	events := []domain.Event{
		domain.RedemptionCompleted{RedemptionID: redemption, MemberID: member, RewardID: reward, HoldID: hold, Points: 100, CompletedAt: at},
		domain.RedemptionCancelled{RedemptionID: redemption, MemberID: member, RewardID: reward, HoldID: hold, Points: 100,
			Reason: domain.CancelIssueFailed, CancelledAt: at},
		domain.CouponIssued{CouponID: coupon, RedemptionID: redemption, MemberID: member, RewardID: reward, ValueMinor: 500,
			Currency: "EUR", ExpiresAt: at},
		domain.CouponRedeemed{CouponID: coupon, MemberID: member, RewardID: reward, StoreID: "berlin-01", TerminalID: "till-1",
			ValueMinor: 500, Currency: "EUR", RedeemedAt: at},
	}
	msgs, err := convert.Events(events)
	if err != nil {
		t.Fatal(err)
	}
	outbox, err := bus.NewOutbox(convert.Produces...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Rows(t.Context(), msgs...); err != nil {
		t.Fatalf("the outbox refuses a converted event: %v", err)
	}
	v, err := validate.New()
	if err != nil {
		t.Fatal(err)
	}
	ts := timestamppb.New(at)
	want := []proto.Message{
		&rewardsv1.RedemptionCompleted{RedemptionId: redemption, MemberId: member, RewardId: reward, HoldId: hold, Points: 100, CompletedAt: ts},
		&rewardsv1.RedemptionCancelled{RedemptionId: redemption, MemberId: member, RewardId: reward, HoldId: hold, Points: 100,
			Reason: domain.CancelIssueFailed, CancelledAt: ts},
		&rewardsv1.CouponIssued{CouponId: coupon, RedemptionId: redemption, MemberId: member, RewardId: reward, ValueMinor: 500,
			Currency: "EUR", ExpiresAt: ts},
		&rewardsv1.CouponRedeemed{CouponId: coupon, MemberId: member, RewardId: reward, StoreId: "berlin-01", TerminalId: "till-1",
			ValueMinor: 500, Currency: "EUR", RedeemedAt: ts},
	}
	for i, m := range msgs {
		if err := v.Validate(m); err != nil {
			t.Errorf("%T: %v", m, err)
		}
		if !proto.Equal(m, want[i]) {
			t.Errorf("%T = %v, want %v", m, m, want[i])
		}
	}
	if _, err := convert.Event(nil); err == nil {
		t.Fatal("converting a nil event: want an error")
	}
}
