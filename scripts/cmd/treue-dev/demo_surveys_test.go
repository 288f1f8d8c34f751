package main

import (
	"strings"
	"testing"

	"github.com/treue/treue/pkg/testkit"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	survey "github.com/treue/treue/services/survey/service"
)

// TestDemoSurveys: the demo's survey passes the survey service's rules, is published,
// and a second run of `make run` makes no second survey.
func TestDemoSurveys(t *testing.T) {
	env := testkit.NewEnv(t)
	cfg, err := survey.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Base = env.Base()
	cfg.Base.HTTPAddr = "127.0.0.1:0"
	cfg.TokenSecret = strings.Repeat("s", 32)
	s := testkit.Start(t, survey.New, cfg).Service
	conn := env.Conn(s.GRPCAddr(), "marketing")
	ctx := testkit.Ctx(t)
	var out strings.Builder
	first, err := demoSurveys(ctx, conn, &out)
	if err != nil {
		t.Fatal(err)
	}
	second, err := demoSurveys(ctx, conn, &out)
	if err != nil || second != first {
		t.Fatalf("second run: %q, %v; want %q", second, err, first)
	}
	got, err := surveyv1.NewDefinitionServiceClient(conn).GetSurvey(ctx, &surveyv1.GetSurveyRequest{SurveyId: first})
	if err != nil || got.GetVersion().GetStatus() != surveyv1.VersionStatus_VERSION_STATUS_PUBLISHED || len(got.GetVersion().GetSpec().GetQuestions()) != 3 {
		t.Errorf("the demo survey: %v, %v", got, err)
	}
	list, err := surveyv1.NewDefinitionServiceClient(conn).ListSurveys(ctx, &surveyv1.ListSurveysRequest{})
	if err != nil || len(list.GetSurveys()) != 5 {
		t.Errorf("surveys: %v, %v; want the demo's and the 4 seeded", list, err)
	}
	if !strings.Contains(out.String(), `survey "Delivery"`) {
		t.Errorf("printed %q", out.String())
	}
}
