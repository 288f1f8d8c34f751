package main

import (
	"context"
	"fmt"
	"io"

	"google.golang.org/grpc"

	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
)

// demoTeams gives the seeded feedback teams what a service lead would: customer service
// works Monday to Friday 08:00–18:00 and Saturday 10:00–14:00 in Berlin, round robin,
// closed on the Christmas and New Year holidays, with two agents, a team lead and the
// demo sign-in (demoStaffUser) as its manager; marketing works office hours, fewest open
// cases first, with one agent. A later run sets the same again (the staff rows come back
// by their idempotency keys). conn is the feedback service's, as admin.
func demoTeams(ctx context.Context, conn grpc.ClientConnInterface, out io.Writer) error {
	client := feedbackv1.NewTeamServiceClient(conn)
	span := func(a, b string) []*feedbackv1.Span { return []*feedbackv1.Span{{Start: a, End: b}} }
	weekdays := func(a, b string) *feedbackv1.BusinessHours {
		return &feedbackv1.BusinessHours{Monday: span(a, b), Tuesday: span(a, b), Wednesday: span(a, b),
			Thursday: span(a, b), Friday: span(a, b)}
	}
	service := weekdays("08:00", "18:00")
	service.Saturday = span("10:00", "14:00")
	teams := []struct {
		key, name string
		hours     *feedbackv1.BusinessHours
		strategy  feedbackv1.AssignmentStrategy
		staff     []*feedbackv1.AddStaffRequest
	}{
		{"customer-service", "Customer service", service, feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_ROUND_ROBIN,
			[]*feedbackv1.AddStaffRequest{
				{Name: "Ada Agent", Email: "ada.agent@treue.example", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT},
				{Name: "Ben Agent", Email: "ben.agent@treue.example", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT},
				{Name: "Lena Lead", Email: "lena.lead@treue.example", Role: feedbackv1.StaffRole_STAFF_ROLE_TEAM_LEAD},
				{Name: "Demo Manager", Email: demoStaffUser, Role: feedbackv1.StaffRole_STAFF_ROLE_MANAGER},
			}},
		{"marketing", "Marketing", weekdays("09:00", "17:00"), feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_FEWEST_OPEN,
			[]*feedbackv1.AddStaffRequest{
				{Name: "Mia Marketing", Email: "mia.marketing@treue.example", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT},
			}},
	}
	var holidays []*feedbackv1.Holiday
	for _, y := range []int{2026, 2027} {
		holidays = append(holidays,
			&feedbackv1.Holiday{Day: fmt.Sprintf("%d-01-01", y), Name: "New Year's Day"},
			&feedbackv1.Holiday{Day: fmt.Sprintf("%d-12-24", y), Name: "Christmas Eve"},
			&feedbackv1.Holiday{Day: fmt.Sprintf("%d-12-25", y), Name: "Christmas Day"},
			&feedbackv1.Holiday{Day: fmt.Sprintf("%d-12-26", y), Name: "Boxing Day"},
			&feedbackv1.Holiday{Day: fmt.Sprintf("%d-12-31", y), Name: "New Year's Eve"})
	}
	staff := 0
	for _, tm := range teams {
		got, err := client.GetTeam(ctx, &feedbackv1.GetTeamRequest{Team: tm.key})
		if err != nil {
			return fmt.Errorf("feedback team %s: %w", tm.key, err)
		}
		id := got.GetTeam().GetTeamId()
		if _, err := client.UpdateTeam(ctx, &feedbackv1.UpdateTeamRequest{TeamId: id, Name: tm.name,
			TimeZone: "Europe/Berlin", Hours: tm.hours, Assignment: tm.strategy}); err != nil {
			return fmt.Errorf("feedback team %s: hours: %w", tm.key, err)
		}
		if _, err := client.SetHolidays(ctx, &feedbackv1.SetHolidaysRequest{TeamId: id, Holidays: holidays}); err != nil {
			return fmt.Errorf("feedback team %s: holidays: %w", tm.key, err)
		}
		for _, s := range tm.staff {
			s.TeamId, s.IdempotencyKey = id, "demo-staff-"+s.GetEmail()
			if _, err := client.AddStaff(ctx, s); err != nil {
				return fmt.Errorf("feedback staff %s: %w", s.GetEmail(), err)
			}
			staff++
		}
	}
	fmt.Fprintf(out, "Treue: feedback teams: customer-service (Mon–Sat, Berlin, round robin) and marketing (office hours, fewest open), %d staff; %s is customer service's manager\n",
		staff, demoStaffUser)
	return nil
}
