package service_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/reporting/service"
)

func TestMalformedEventsAreDeadLettered(t *testing.T) {
	t.Parallel()
	h := start(t)
	now := time.Now()
	purchase := commonv1.Touchpoint_TOUCHPOINT_PURCHASE

	h.publishRaw(subjectResponse, "garbage-1", "treue.survey.v1.ResponseSubmitted", []byte{0x0a, 0xff})
	h.publish(subjectResponse, response(purchase, "s1", 11, now))                             // no class, score out of range
	h.publish(subjectResponse, &surveyv1.ResponseSubmitted{Score: 9})                         // no submitted_at
	h.publish("feedback.case.opened", &feedbackv1.CaseOpened{OpenedAt: timestamppb.New(now)}) // no case id
	h.publish("rewards.coupon.redeemed", &rewardsv1.CouponRedeemed{CouponId: "k1"})           // no redeemed_at

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
		{service.ConsumerSurvey, 3, []string{"decode", "score", "submitted_at"}},
		{service.ConsumerFeedback, 1, []string{"case_id"}},
		{service.ConsumerRewards, 1, []string{"redeemed_at"}},
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
