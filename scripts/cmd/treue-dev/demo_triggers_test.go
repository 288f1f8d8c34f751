package main

import (
	"strings"
	"testing"

	"github.com/treue/treue/pkg/testkit"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/scripts/internal/stack"
	survey "github.com/treue/treue/services/survey/service"
)

// TestDemoTriggers: the demo's trigger rule is defined once however many runs play it,
// next to the seeded one.
func TestDemoTriggers(t *testing.T) {
	env := testkit.NewEnv(t)
	cfg := survey.Config{Base: env.Base(), PublicURL: "http://127.0.0.1:8082", ContactInterval: survey.DefaultContactInterval,
		LinkTTL: survey.DefaultLinkTTL, PendingTTL: survey.DefaultPendingTTL}
	cfg.Base.HTTPAddr = "127.0.0.1:0"
	srv := testkit.Start(t, survey.New, cfg)
	keys := map[string]string{}
	for _, c := range testkit.RoleCallers() {
		keys[c.Role] = c.Key
	}
	s := &stack.Stack{Keys: keys, Procs: map[string]*stack.Proc{"survey": {Name: "survey", GRPCAddr: srv.Service.GRPCAddr()}}}
	ctx := testkit.Ctx(t)
	var out strings.Builder
	for range 2 { // two runs of `make run` on the same database
		out.Reset()
		if err := demoSurveyTriggers(ctx, s, &out); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(out.String(), "2 days after a reward, 50% sampled") {
		t.Errorf("the demo printed %q", out.String())
	}
	rules, err := surveyv1.NewTriggerServiceClient(env.Conn(srv.Service.GRPCAddr(), "auditor")).
		ListTriggerRules(ctx, &surveyv1.ListTriggerRulesRequest{})
	if err != nil || len(rules.GetRules()) != 2 {
		t.Fatalf("rules %v, %v; want the seeded one and the demo's", rules.GetRules(), err)
	}
	if r := rules.GetRules()[0]; r.GetSpec().GetSamplingRate() != 0.5 || r.GetSpec().GetDelay().AsDuration().Hours() != 48 {
		t.Errorf("demo rule %v", r)
	}
}
