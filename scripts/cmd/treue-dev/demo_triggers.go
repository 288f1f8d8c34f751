package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
)

// The surveys the survey service seeds.
const (
	demoNPSSurveyID  = "0192f0c8-5a1e-7000-8000-000000000001"
	demoCSATSurveyID = "0192f0c8-5a1e-7000-8000-000000000002" // "Service satisfaction"
)

// demoServiceCallDelay is how long after a service call the demo's CSAT survey is sent:
// short, so that its emails arrive while the user watches.
const demoServiceCallDelay = 25 * time.Second

// demoTriggers defines the demo's trigger rules as marketing would, beside the seeded
// rule "NPS after every contact" (at once, so a purchase's NPS email goes out at once):
// CSAT 25 s after a service call, for every caller; and the delivery survey
// (deliverySurvey, the CSAT survey when "") two days after a reward is delivered, for half
// of the members (the same half every time). Defining them again on a later run returns
// the rules of the first (their idempotency keys). conn is the survey's, as marketing.
// It returns the rules.
func demoTriggers(ctx context.Context, conn grpc.ClientConnInterface, deliverySurvey string, out io.Writer) ([]*surveyv1.TriggerRule, error) {
	if deliverySurvey == "" {
		deliverySurvey = demoCSATSurveyID
	}
	channels := []surveyv1.DeliveryChannel{surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL,
		surveyv1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK, surveyv1.DeliveryChannel_DELIVERY_CHANNEL_NONE}
	reqs := []*surveyv1.CreateTriggerRuleRequest{
		{
			IdempotencyKey: "demo-csat-after-service-call", Active: true,
			Spec: &surveyv1.TriggerRuleSpec{
				Name:         "CSAT 25 s after a service call",
				Touchpoints:  []commonv1.Touchpoint{commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL},
				SurveyId:     demoCSATSurveyID,
				Delay:        durationpb.New(demoServiceCallDelay),
				SamplingRate: 1,
				Channels:     channels,
				Priority:     20,
			},
		},
		{
			IdempotencyKey: "demo-delivery-after-reward", Active: true,
			Spec: &surveyv1.TriggerRuleSpec{
				Name:         "Delivery survey two days after a reward is delivered",
				Touchpoints:  []commonv1.Touchpoint{commonv1.Touchpoint_TOUCHPOINT_REWARD_DELIVERED},
				SurveyId:     deliverySurvey,
				Delay:        durationpb.New(48 * time.Hour),
				SamplingRate: 0.5,
				Channels:     channels[:2],
				Priority:     10,
			},
		},
	}
	client := surveyv1.NewTriggerServiceClient(conn)
	var rules []*surveyv1.TriggerRule
	for _, req := range reqs {
		resp, err := client.CreateTriggerRule(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("defining the demo trigger rule %q: %w", req.GetSpec().GetName(), err)
		}
		rules = append(rules, resp.GetRule())
	}
	fmt.Fprintf(out, "Treue: survey trigger rules: NPS at once after a purchase (seeded), %q, %q (50%% sampled)\n",
		rules[0].GetSpec().GetName(), rules[1].GetSpec().GetName())
	return rules, nil
}
