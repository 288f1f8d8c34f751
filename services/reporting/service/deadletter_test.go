package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
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

	h.publishRaw(t, subjectResponse, "garbage-1", "treue.survey.v1.ResponseSubmitted", []byte{0x0a, 0xff})
	h.publish(t, subjectResponse, response(purchase, "s1", 11, now))                             // no class, score out of range
	h.publish(t, subjectResponse, &surveyv1.ResponseSubmitted{Score: 9})                         // no submitted_at
	h.publish(t, "feedback.case.opened", &feedbackv1.CaseOpened{OpenedAt: timestamppb.New(now)}) // no case id
	h.publish(t, "rewards.coupon.redeemed", &rewardsv1.CouponRedeemed{CouponId: "k1"})           // no redeemed_at

	// Good events behind the bad ones still count, protojson ones too.
	h.publish(t, subjectResponse, response(purchase, "s1", 10, now))
	h.publishJSON(t, subjectResponse, "json-1", response(purchase, "s1", 0, now.Add(time.Second)))

	eventually(t, 15*time.Second, "the good responses counted", func() bool {
		resp, err := h.reporting.GetNps(ctxT(t), &reportingv1.GetNpsRequest{})
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
		dead := h.waitForDeadLetters(t, tt.consumer, tt.n)
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

func (h *harness) publishJSON(t *testing.T, subject, id string, msg *surveyv1.ResponseSubmitted) {
	t.Helper()
	data, err := protojson.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(h.ns + subject)
	m.Data = data
	m.Header.Set(bus.HeaderMsgID, id)
	m.Header.Set(bus.HeaderContentType, bus.ContentTypeJSON)
	m.Header.Set(bus.HeaderEventType, string(msg.ProtoReflect().Descriptor().FullName()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := h.js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
}
