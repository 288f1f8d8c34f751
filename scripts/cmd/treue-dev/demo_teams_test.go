package main

import (
	"strings"
	"testing"

	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	feedback "github.com/treue/treue/services/feedback/service"
)

// TestDemoTeams: the demo's teams, hours, holidays and staff on a real feedback service,
// set twice as two runs of make run would.
func TestDemoTeams(t *testing.T) {
	env := testkit.NewEnv(t)
	cfg := feedback.Config{Base: env.Base()}
	srv := testkit.Start(t, feedback.New, cfg).Service
	conn := env.Conn(srv.GRPCAddr(), "admin")
	ctx := testkit.Ctx(t)
	for range 2 {
		var out strings.Builder
		if err := demoTeams(ctx, conn, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "5 staff") {
			t.Fatalf("the demo printed %q", out.String())
		}
	}
	client := feedbackv1.NewTeamServiceClient(conn)
	cs, err := client.GetTeam(ctx, &feedbackv1.GetTeamRequest{Team: "customer-service"})
	if err != nil {
		t.Fatal(err)
	}
	if tm := cs.GetTeam(); tm.GetTimeZone() != "Europe/Berlin" || len(tm.GetHours().GetSunday()) != 0 ||
		tm.GetHours().GetSaturday()[0].GetEnd() != "14:00" || len(tm.GetHolidays()) != 10 {
		t.Fatalf("customer-service %v", tm)
	}
	list, err := client.ListStaff(ctx, &feedbackv1.ListStaffRequest{TeamId: cs.GetTeam().GetTeamId()})
	if err != nil {
		t.Fatal(err)
	}
	var manager bool
	for _, s := range list.GetStaff() {
		manager = manager || (s.GetEmail() == demoStaffUser && s.GetRole() == feedbackv1.StaffRole_STAFF_ROLE_MANAGER)
	}
	if len(list.GetStaff()) != 4 || !manager {
		t.Fatalf("customer-service staff %v", list.GetStaff())
	}
}
