package service_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/service"
)

// TestSLAInTheTeamCalendarEscalatesToAgentLeadManager: a detractor answers on the
// Thursday before Easter at 15:00; customer service works Monday to Friday 09:00–17:00 in
// Berlin and is closed on Good Friday and Easter Monday. The case is assigned (an email),
// waits for the customer for two business hours (the due times move), is reminded once,
// and escalates to the agent, the team lead and the manager, each once with an event and
// an email to that person; a reassignment keeps the history.
func TestSLAInTheTeamCalendarEscalatesToAgentLeadManager(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	clk := &clock{t: at("2026-04-02 15:00")}
	smtp := testkit.StartSMTP(t)
	e := startWith(t, func(c *service.Config) {
		c.Now = clk.Now
		c.Lifecycle = service.LifecycleConfig{FirstContactSLA: 4 * time.Hour, ReminderAt: 0.8, EscalationStep: 2 * time.Hour,
			SweepInterval: 20 * time.Millisecond, SMTPAddr: smtp.Addr(), MailFrom: "Treue <cases@shop.example>"}
	})
	teams := e.teams
	admin := as(keyAdmin)

	cs, err := teams.GetTeam(admin, &feedbackv1.GetTeamRequest{Team: "customer-service"})
	if err != nil {
		t.Fatal(err)
	}
	teamID := cs.GetTeam().GetTeamId()
	day := []*feedbackv1.Span{{Start: "09:00", End: "17:00"}}
	if _, err := teams.UpdateTeam(admin, &feedbackv1.UpdateTeamRequest{TeamId: teamID, Name: "Customer service", TimeZone: "Europe/Berlin",
		Hours: &feedbackv1.BusinessHours{Monday: day, Tuesday: day, Wednesday: day, Thursday: day, Friday: day}}); err != nil {
		t.Fatal(err)
	}
	if _, err := teams.SetHolidays(admin, &feedbackv1.SetHolidaysRequest{TeamId: teamID, Holidays: []*feedbackv1.Holiday{
		{Day: "2026-04-03", Name: "Karfreitag"}, {Day: "2026-04-06", Name: "Ostermontag"}}}); err != nil {
		t.Fatal(err)
	}
	staff := map[string]*feedbackv1.Staff{}
	for _, s := range []struct {
		name string
		role feedbackv1.StaffRole
	}{{"ann", feedbackv1.StaffRole_STAFF_ROLE_AGENT}, {"lee", feedbackv1.StaffRole_STAFF_ROLE_TEAM_LEAD},
		{"max", feedbackv1.StaffRole_STAFF_ROLE_MANAGER}} {
		resp, err := teams.AddStaff(admin, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-staff-" + s.name, TeamId: teamID,
			Name: strings.ToUpper(s.name[:1]) + s.name[1:], Email: s.name + "@shop.example", Role: s.role})
		if err != nil {
			t.Fatal(err)
		}
		staff[s.name] = resp.GetStaff()
	}

	r := newResponse(2)
	r.SubmittedAt = timestamppb.New(clk.Now())
	e.publish(r)
	c := e.waitCase(r.GetResponseId())
	id := c.GetCaseId()
	if c.GetAssignee() != staff["ann"].GetStaffId() {
		t.Fatalf("assigned to %q, want ann", c.GetAssignee())
	}
	// 4h of business time: 2h on Thursday, then Tuesday 09:00–11:00. 48h: Tuesday 14 April 15:00.
	if got := c.GetFirstContactDueAt().AsTime(); !got.Equal(at("2026-04-07 11:00")) {
		t.Errorf("first contact due %v, want Tuesday 11:00", got.In(berlin))
	}
	if got := c.GetDueAt().AsTime(); !got.Equal(at("2026-04-14 15:00")) {
		t.Errorf("resolution due %v, want 14 April 15:00", got.In(berlin))
	}
	mailTo := func(who, subject string) testkit.Mail {
		t.Helper()
		return smtp.WaitFor(t, func(m testkit.Mail) bool {
			return slices.Contains(m.To, who+"@shop.example") && strings.Contains(m.Subject, subject) && strings.Contains(m.Subject, id)
		}, 10*time.Second)
	}
	mailTo("ann", "assigned to you")

	// Waiting for the customer from Thursday 16:00 to Tuesday 10:00: 2h of business time.
	clk.Set(at("2026-04-02 15:30"))
	if _, err := e.client.AcknowledgeCase(as(keyAlice), &feedbackv1.AcknowledgeCaseRequest{CaseId: id}); err != nil {
		t.Fatal(err)
	}
	clk.Set(at("2026-04-02 16:00"))
	if _, err := e.client.WaitForCustomer(as(keyAlice), &feedbackv1.WaitForCustomerRequest{CaseId: id, Note: "sends the receipt"}); err != nil {
		t.Fatal(err)
	}
	clk.Set(at("2026-04-07 10:00"))
	resumed, err := e.client.ResumeCase(as(keyAlice), &feedbackv1.ResumeCaseRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	if got := resumed.GetCase(); got.GetPausedSeconds() != 7200 || !got.GetFirstContactDueAt().AsTime().Equal(at("2026-04-07 13:00")) ||
		!got.GetDueAt().AsTime().Equal(at("2026-04-14 17:00")) {
		t.Fatalf("after the pause: paused %ds, first contact %v, resolution %v", got.GetPausedSeconds(),
			got.GetFirstContactDueAt().AsTime().In(berlin), got.GetDueAt().AsTime().In(berlin))
	}

	// 80% of 4h: reminded when 48 minutes are left (12:12), once.
	clk.Set(at("2026-04-07 12:15"))
	mailTo("ann", "Reminder")
	levels := func() []int32 {
		var out []int32
		for _, m := range eventsOf(e.env, &feedbackv1.CaseEscalated{}) {
			out = append(out, m.GetLevel())
		}
		return out
	}
	clk.Set(at("2026-04-07 13:01"))
	mailTo("ann", "Escalation level 1")
	clk.Set(at("2026-04-07 15:00"))
	mailTo("lee", "Escalation level 2")
	overdue, err := e.client.ListCases(as(keyAlice), &feedbackv1.ListCasesRequest{Team: "customer-service", Overdue: true, ByDue: true})
	if err != nil || len(overdue.GetCases()) != 1 || !overdue.GetCases()[0].GetFirstContactOverdue() {
		t.Fatalf("overdue queue %v, %v", overdue.GetCases(), err)
	}
	// Tuesday 17:00 is two steps after 13:00; overnight is closed.
	clk.Set(at("2026-04-08 09:30"))
	mailTo("max", "Escalation level 3")
	testkit.Eventually(t, 10*time.Second, "three escalations", func() bool { return slices.Equal(levels(), []int32{1, 2, 3}) })
	esc := eventsOf(e.env, &feedbackv1.CaseEscalated{})
	if esc[0].GetNotified() != staff["ann"].GetStaffId() || esc[1].GetNotified() != staff["lee"].GetStaffId() ||
		esc[2].GetNotified() != staff["max"].GetStaffId() || esc[2].GetDeadline() != "FIRST_CONTACT" {
		t.Errorf("escalations %v", esc)
	}
	time.Sleep(200 * time.Millisecond)
	if got := levels(); !slices.Equal(got, []int32{1, 2, 3}) || len(eventsOf(e.env, &feedbackv1.CaseReminder{})) != 1 {
		t.Errorf("escalations %v and %d reminders after more sweeps", got, len(eventsOf(e.env, &feedbackv1.CaseReminder{})))
	}

	// Reassignment: to a staff member of the team, with an email; the history keeps who had it.
	bob, err := teams.AddStaff(admin, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-staff-bob", TeamId: teamID, Name: "Bob",
		Email: "bob@shop.example", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.ReassignCase(as(keyAlice), &feedbackv1.ReassignCaseRequest{CaseId: id,
		To: &feedbackv1.ReassignCaseRequest_StaffId{StaffId: "not-a-member"}})
	testkit.WantCode(t, err, codes.InvalidArgument)
	if _, err := e.client.ReassignCase(as(keyAlice), &feedbackv1.ReassignCaseRequest{CaseId: id,
		To: &feedbackv1.ReassignCaseRequest_StaffId{StaffId: bob.GetStaff().GetStaffId()}, Note: "ann is on holiday"}); err != nil {
		t.Fatal(err)
	}
	mailTo("bob", "assigned to you")
	full, err := e.client.GetCase(admin, &feedbackv1.GetCaseRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"open", "acknowledge", "wait", "resume", "remind", "escalate", "escalate", "escalate", "reassign"}
	if got := historyActions(full.GetCase()); !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
	last := full.GetCase().GetHistory()[len(want)-1]
	if !strings.Contains(last.GetNote(), staff["ann"].GetStaffId()) || !strings.Contains(last.GetNote(), bob.GetStaff().GetStaffId()) || last.GetBy() != "alice" {
		t.Errorf("reassignment entry %v", last)
	}
	testkit.Eventually(t, 10*time.Second, "CaseReassigned", func() bool {
		ev := eventsOf(e.env, &feedbackv1.CaseReassigned{})
		return len(ev) == 1 && ev[0].GetFromAssignee() == staff["ann"].GetStaffId() && ev[0].GetTransition().GetAssignee() == bob.GetStaff().GetStaffId()
	})
}

// TestCasesOpenedTogetherAreAssignedInTurn: detractors answering at once (one or a few
// consumer batches, each reading the team and locking its cursor once) are assigned to
// the team's active agents in turn, continuing from the batch before: each gets the same
// number, the team lead and an inactive agent none.
func TestCasesOpenedTogetherAreAssignedInTurn(t *testing.T) {
	t.Parallel()
	e := startWith(t, func(*service.Config) {})
	admin := as(keyAdmin)
	cs, err := e.teams.GetTeam(admin, &feedbackv1.GetTeamRequest{Team: "customer-service"})
	if err != nil {
		t.Fatal(err)
	}
	teamID := cs.GetTeam().GetTeamId()
	count := map[string]int{}
	var inactive *feedbackv1.Staff
	for _, s := range []struct {
		name string
		role feedbackv1.StaffRole
	}{{"ann", feedbackv1.StaffRole_STAFF_ROLE_AGENT}, {"bob", feedbackv1.StaffRole_STAFF_ROLE_AGENT},
		{"cem", feedbackv1.StaffRole_STAFF_ROLE_AGENT}, {"dan", feedbackv1.StaffRole_STAFF_ROLE_AGENT},
		{"lee", feedbackv1.StaffRole_STAFF_ROLE_TEAM_LEAD}} {
		resp, err := e.teams.AddStaff(admin, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-staff-" + s.name, TeamId: teamID,
			Name: s.name, Email: s.name + "@shop.example", Role: s.role})
		if err != nil {
			t.Fatal(err)
		}
		switch s.name {
		case "lee":
		case "dan":
			inactive = resp.GetStaff()
			fallthrough
		default:
			count[resp.GetStaff().GetStaffId()] = 0
		}
	}
	if _, err := e.teams.UpdateStaff(admin, &feedbackv1.UpdateStaffRequest{StaffId: inactive.GetStaffId(), TeamId: teamID,
		Name: inactive.GetName(), Email: inactive.GetEmail(), Role: inactive.GetRole(), Active: false}); err != nil {
		t.Fatal(err)
	}
	// One first, then eleven at once: the second batch goes on from where the first one
	// left the team's cursor.
	responses := []string{e.submit(2).GetResponseId()}
	e.waitCase(responses[0])
	for range 11 {
		responses = append(responses, e.submit(2).GetResponseId())
	}
	for _, id := range responses {
		c := e.waitCase(id)
		if _, ok := count[c.GetAssignee()]; !ok {
			t.Fatalf("case %s assigned to %q, not an agent of the team", c.GetCaseId(), c.GetAssignee())
		}
		count[c.GetAssignee()]++
	}
	for who, n := range count {
		want := 4
		if who == inactive.GetStaffId() {
			want = 0
		}
		if n != want {
			t.Fatalf("assignments %v: %s has %d, want %d", count, who, n, want)
		}
	}
}
