package service_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/reporting/internal/ports/events"
)

func TestMalformedEventsAreDeadLettered(t *testing.T) {
	t.Parallel()
	h := start(t)
	now := time.Now()
	purchase := commonv1.Touchpoint_TOUCHPOINT_PURCHASE

	h.publishRaw(&surveyv1.ResponseSubmitted{}, "garbage-1", []byte{0x0a, 0xff})
	h.publish(subjectResponse, response(purchase, "s1", 11, now))                        // no class, score out of range
	h.publish(subjectResponse, &surveyv1.ResponseSubmitted{Score: 9})                    // no submitted_at
	h.publish(subjectCaseOpened, &feedbackv1.CaseOpened{OpenedAt: timestamppb.New(now)}) // no case id
	h.publish(subjectCouponRedeemed, &rewardsv1.CouponRedeemed{CouponId: "k1"})          // no redeemed_at

	// Good events behind the bad ones still count, protojson ones too.
	h.publish(subjectResponse, response(purchase, "s1", 10, now))
	h.PublishJSON(subjectResponse, "json-1", response(purchase, "s1", 0, now.Add(time.Second)))

	testkit.Eventually(t, 15*time.Second, "the good responses counted", func() bool {
		resp, err := h.reporting.GetNps(testkit.Ctx(t), &reportingv1.GetNpsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		o := resp.GetOverall()
		return o.GetPromoters() == 1 && o.GetDetractors() == 1
	})

	tests := []struct {
		consumer string
		n        int
		want     []string
	}{
		{events.ConsumerSurvey, 3, []string{"decode", "score", "submitted_at"}},
		{events.ConsumerFeedback, 1, []string{"case_id"}},
		{events.ConsumerRewards, 1, []string{"redeemed_at"}},
	}
	for _, tt := range tests {
		dead := h.WaitDeadLetters(h.grpcAddr, tt.consumer, tt.n)
		var all []string
		for _, d := range dead {
			all = append(all, d.GetError())
			if len(d.GetPayload()) == 0 || d.GetEventId() == "" {
				t.Errorf("%s: dead letter %d lacks the event (id %q, %d bytes)", tt.consumer, d.GetId(), d.GetEventId(), len(d.GetPayload()))
			}
			// No retry cures a malformed event: it is dead-lettered on its first delivery.
			if d.GetDeliveries() != 1 {
				t.Errorf("%s: dead letter %d after %d deliveries, want 1", tt.consumer, d.GetId(), d.GetDeliveries())
			}
		}
		joined := strings.Join(all, "\n")
		for _, w := range tt.want {
			if !strings.Contains(joined, w) {
				t.Errorf("%s dead letters do not mention %q:\n%s", tt.consumer, w, joined)
			}
		}
	}
}

// TestEventsOfTheWrongTypeAreRefused: an event counts only as what its Treue-Event-Type
// and subject both say it is. Foreign messages on the coupons' subject once counted as
// coupons issued, and a credit labelled as a debit raised the points issued.
func TestEventsOfTheWrongTypeAreRefused(t *testing.T) {
	t.Parallel()
	h := start(t)
	now := time.Now()
	credit := credited(1000, ledgerv1.PointsReason_POINTS_REASON_PURCHASE, now)
	foreign := func(subject string, typeOf, body proto.Message) {
		data, err := proto.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		h.PublishRaw(testkit.Raw{Subject: subject, ContentType: bus.ContentTypeProto, Type: string(bus.MustSpec(typeOf).Type), Data: data})
	}
	// A coupon's body, labelled as an event reporting does not read.
	coupon := &rewardsv1.CouponIssued{CouponId: "k0", RedemptionId: "d0", MemberId: "m1", RewardId: "r1", Currency: "EUR"}
	for range 20 {
		foreign(subjectCouponIssued, &rewardsv1.RedemptionCompleted{}, coupon)
	}
	foreign(subjectCredited, &ledgerv1.PointsDebited{}, credit)
	// A redemption on the subject: a type the consumer takes, on another's subject.
	foreign(subjectCouponIssued, &rewardsv1.CouponRedeemed{}, &rewardsv1.CouponRedeemed{CouponId: "k9", MemberId: "m1", RewardId: "r1", Currency: "EUR", RedeemedAt: timestamppb.New(now)})

	// Then what is right: one coupon issued, 5 points credited.
	h.publish(subjectCouponIssued, &rewardsv1.CouponIssued{CouponId: "k1", RedemptionId: "d1", MemberId: "m1", RewardId: "r1", Currency: "EUR"})
	h.publish(subjectCredited, credited(5, ledgerv1.PointsReason_POINTS_REASON_PURCHASE, now))

	rewards := h.WaitDeadLetters(h.grpcAddr, events.ConsumerRewards, 21)
	ledger := h.WaitDeadLetters(h.grpcAddr, events.ConsumerLedger, 1)
	for _, d := range append(rewards, ledger...) {
		if d.GetDeliveries() != 1 {
			t.Errorf("dead letter %d (%s) after %d deliveries, want 1", d.GetId(), d.GetError(), d.GetDeliveries())
		}
	}
	var s summary
	testkit.Eventually(t, 15*time.Second, "the right events counted", func() bool {
		code, body, _ := h.get(t, h.httpURL+"/api/summary.json")
		if code != http.StatusOK || json.Unmarshal([]byte(body), &s) != nil {
			t.Fatalf("GET /api/summary.json: %d %s", code, body)
		}
		return s.Coupons.Issued > 0 && s.Points.Issued > 0
	})
	if s.Coupons.Issued != 1 || s.Coupons.Redeemed != 0 || s.Points.Issued != 5 || s.Points.Returned+s.Points.Expired != 0 {
		t.Errorf("coupons %+v, points %+v; want only the coupon issued and the 5 points credited", s.Coupons, s.Points)
	}
}
