package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/scripts/internal/stack"
)

// demoCSATSurveyID is the CSAT survey the survey service seeds ("Service satisfaction").
const (
	demoCSATSurveyID = "0192f0c8-5a1e-7000-8000-000000000002"
	demoNPSSurveyID  = "0192f0c8-5a1e-7000-8000-000000000001"
)

// demoSurveyTriggers defines the demo's trigger rule through the survey's API, as
// marketing.
func demoSurveyTriggers(ctx context.Context, s *stack.Stack, out io.Writer) error {
	conn, err := s.Conn("survey", "marketing")
	if err != nil {
		return err
	}
	return demoTriggers(ctx, conn, out)
}

// demoTriggers defines a trigger rule as marketing would: CSAT two days after a reward
// is delivered, for half of the members (the same half every time). The seeded rule (NPS
// at once after every other contact) stays. Defining it again on a later run returns
// the rule of the first (its idempotency key). conn is the survey's, as marketing:
// s.Conn("survey", "marketing").
func demoTriggers(ctx context.Context, conn grpc.ClientConnInterface, out io.Writer) error {
	req := &surveyv1.CreateTriggerRuleRequest{
		IdempotencyKey: "demo-csat-after-reward",
		Active:         true,
		Spec: &surveyv1.TriggerRuleSpec{
			Name:         "CSAT two days after a reward is delivered",
			Touchpoints:  []commonv1.Touchpoint{commonv1.Touchpoint_TOUCHPOINT_REWARD_DELIVERED},
			SurveyId:     demoCSATSurveyID,
			Delay:        durationpb.New(48 * time.Hour),
			SamplingRate: 0.5,
			Channels:     []surveyv1.DeliveryChannel{surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL, surveyv1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK},
			Priority:     10,
		},
	}
	resp, err := surveyv1.NewTriggerServiceClient(conn).CreateTriggerRule(ctx, req)
	if status.Code(err) == codes.InvalidArgument && strings.Contains(status.Convert(err).Message(), "spec.survey_id") {
		// A survey service without the CSAT survey asks the NPS question instead.
		req.IdempotencyKey, req.Spec.SurveyId = "demo-nps-after-reward", demoNPSSurveyID
		resp, err = surveyv1.NewTriggerServiceClient(conn).CreateTriggerRule(ctx, req)
	}
	if err != nil {
		return fmt.Errorf("defining the demo trigger rule: %w", err)
	}
	fmt.Fprintf(out, "Treue: trigger rule %q (%s, survey %s): 2 days after a reward, 50%% sampled\n",
		resp.GetRule().GetSpec().GetName(), resp.GetRule().GetTriggerId(), resp.GetRule().GetSpec().GetSurveyId())
	return nil
}
