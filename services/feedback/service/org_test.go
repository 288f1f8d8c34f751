package service_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/adapters/postgres"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/service"
)

// orgEnv is a running feedback service with a TeamService client and the service's
// store over its schema (for the Assigner, which runs inside a case's transaction).
type orgEnv struct {
	t     *testing.T
	db    *testkit.DB
	teams feedbackv1.TeamServiceClient
	store *postgres.Store
}

func startOrg(t *testing.T) *orgEnv {
	t.Helper()
	e := testkit.NewEnv(t, callers...)
	cfg := service.Config{Base: e.Base()}
	cfg.Base.DBMaxConns = 4
	s := testkit.Start(t, service.New, cfg).Service
	db := e.DB(service.Schema)
	return &orgEnv{t: t, db: db, teams: feedbackv1.NewTeamServiceClient(e.Conn(s.GRPCAddr(), "")),
		store: postgres.NewStore(pg.NewDB(db.Pool, nil), nil)}
}

func span(a, b string) *feedbackv1.Span { return &feedbackv1.Span{Start: a, End: b} }

func officeHours() *feedbackv1.BusinessHours {
	day := []*feedbackv1.Span{span("09:00", "12:00"), span("13:00", "17:00")}
	return &feedbackv1.BusinessHours{Monday: day, Tuesday: day, Wednesday: day, Thursday: day, Friday: day}
}

func (o *orgEnv) createTeam(key string, strategy feedbackv1.AssignmentStrategy) *feedbackv1.Team {
	o.t.Helper()
	resp, err := o.teams.CreateTeam(as(keyAdmin), &feedbackv1.CreateTeamRequest{
		IdempotencyKey: "create-" + key, Key: key, Name: "Team " + key, TimeZone: "Europe/Berlin",
		Hours: officeHours(), Assignment: strategy,
	})
	if err != nil {
		o.t.Fatal(err)
	}
	return resp.GetTeam()
}

func (o *orgEnv) addStaff(teamID, name string, role feedbackv1.StaffRole) *feedbackv1.Staff {
	o.t.Helper()
	resp, err := o.teams.AddStaff(as(keyAdmin), &feedbackv1.AddStaffRequest{
		IdempotencyKey: "add-" + name + "-" + teamID, TeamId: teamID, Name: name,
		Email: name + "-" + teamID[len(teamID)-6:] + "@example.com", Role: role,
	})
	if err != nil {
		o.t.Fatal(err)
	}
	return resp.GetStaff()
}

func TestTeamsAndStaff(t *testing.T) {
	t.Parallel()
	o := startOrg(t)
	ctx := as(keyAdmin)

	// The migration made a team, open 24x7, of every team the seeded rules name.
	list, err := o.teams.ListTeams(as(keyAlice), &feedbackv1.ListTeamsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, tm := range list.GetTeams() {
		keys = append(keys, tm.GetKey())
		if tm.GetTimeZone() != "UTC" || len(tm.GetHours().GetSaturday()) != 1 || tm.GetHours().GetSaturday()[0].GetEnd() != "24:00" {
			t.Errorf("seeded team %s is not 24x7 in UTC: %v", tm.GetKey(), tm)
		}
	}
	if !slices.Contains(keys, "customer-service") || !slices.Contains(keys, "marketing") {
		t.Fatalf("seeded teams = %v", keys)
	}

	req := &feedbackv1.CreateTeamRequest{IdempotencyKey: "create-store-ops", Key: "store-ops", Name: "Store operations",
		TimeZone: "Europe/Berlin", Hours: officeHours(), Assignment: feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_FEWEST_OPEN}
	created, err := o.teams.CreateTeam(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	team := created.GetTeam()
	if team.GetKey() != "store-ops" || team.GetTimeZone() != "Europe/Berlin" || len(team.GetHours().GetMonday()) != 2 ||
		team.GetHours().GetMonday()[1].GetStart() != "13:00" || len(team.GetHours().GetSunday()) != 0 ||
		team.GetAssignment() != feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_FEWEST_OPEN {
		t.Fatalf("created %v", team)
	}
	// A retry returns the same team; the key reused for another request is refused; the
	// team key taken by another request is AlreadyExists.
	again, err := o.teams.CreateTeam(ctx, req)
	if err != nil || again.GetTeam().GetTeamId() != team.GetTeamId() {
		t.Fatalf("retry: %v, %v", again, err)
	}
	other := proto.Clone(req).(*feedbackv1.CreateTeamRequest)
	other.Name = "Something else"
	_, err = o.teams.CreateTeam(ctx, other)
	testkit.WantCode(t, err, codes.FailedPrecondition)
	if grpcx.Reason(err) != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("reason %q", grpcx.Reason(err))
	}
	other.IdempotencyKey = "create-store-ops-2"
	_, err = o.teams.CreateTeam(ctx, other)
	testkit.WantCode(t, err, codes.AlreadyExists)

	// By key and by id.
	for _, ref := range []string{"store-ops", team.GetTeamId()} {
		got, err := o.teams.GetTeam(as(keyAuditor), &feedbackv1.GetTeamRequest{Team: ref})
		if err != nil || got.GetTeam().GetTeamId() != team.GetTeamId() {
			t.Fatalf("GetTeam(%s) = %v, %v", ref, got, err)
		}
	}
	_, err = o.teams.GetTeam(ctx, &feedbackv1.GetTeamRequest{Team: "nobody"})
	testkit.WantCode(t, err, codes.NotFound)

	// Update replaces name, zone, hours and strategy; the key stays.
	upd, err := o.teams.UpdateTeam(ctx, &feedbackv1.UpdateTeamRequest{TeamId: team.GetTeamId(), Name: "Store ops",
		TimeZone: "America/New_York", Hours: &feedbackv1.BusinessHours{Saturday: []*feedbackv1.Span{span("10:00", "14:00")}}})
	if err != nil {
		t.Fatal(err)
	}
	if u := upd.GetTeam(); u.GetKey() != "store-ops" || u.GetName() != "Store ops" || u.GetTimeZone() != "America/New_York" ||
		len(u.GetHours().GetMonday()) != 0 || u.GetHours().GetSaturday()[0].GetEnd() != "14:00" ||
		u.GetAssignment() != feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_ROUND_ROBIN {
		t.Fatalf("updated %v", u)
	}
	_, err = o.teams.UpdateTeam(ctx, &feedbackv1.UpdateTeamRequest{TeamId: uuid.NewString(), Name: "x"})
	testkit.WantCode(t, err, codes.NotFound)

	// Holidays: stored sorted, replaced as a whole.
	hol, err := o.teams.SetHolidays(ctx, &feedbackv1.SetHolidaysRequest{TeamId: team.GetTeamId(), Holidays: []*feedbackv1.Holiday{
		{Day: "2026-12-25", Name: "Christmas Day"}, {Day: "2026-12-24", Name: "Christmas Eve"}}})
	if err != nil {
		t.Fatal(err)
	}
	if hs := hol.GetTeam().GetHolidays(); len(hs) != 2 || hs[0].GetDay() != "2026-12-24" || hs[1].GetName() != "Christmas Day" {
		t.Fatalf("holidays %v", hs)
	}
	got, _ := o.teams.GetTeam(ctx, &feedbackv1.GetTeamRequest{Team: "store-ops"})
	if len(got.GetTeam().GetHolidays()) != 2 {
		t.Fatalf("holidays not kept: %v", got.GetTeam())
	}
	tm, _, err := o.store.TeamOf(context.Background(), "store-ops")
	if err != nil || len(tm.Calendar.Holidays) != 2 || tm.Calendar.Location.String() != "America/New_York" {
		t.Fatalf("TeamOf = %+v, %v", tm, err)
	}
	// Saturday 2026-12-26 10:00 in New York + 2h of business time ends 12:00; Christmas
	// Day (a Friday) has no hours anyway, and the calendar the store returns says so.
	sat := time.Date(2026, 12, 26, 10, 0, 0, 0, tm.Calendar.Location)
	if end := tm.Calendar.AddBusiness(sat, 2*time.Hour); !end.Equal(sat.Add(2 * time.Hour)) {
		t.Fatalf("AddBusiness on the stored calendar = %s", end)
	}
	if _, err := o.teams.SetHolidays(ctx, &feedbackv1.SetHolidaysRequest{TeamId: team.GetTeamId()}); err != nil {
		t.Fatal(err)
	}
	got, _ = o.teams.GetTeam(ctx, &feedbackv1.GetTeamRequest{Team: "store-ops"})
	if len(got.GetTeam().GetHolidays()) != 0 {
		t.Fatalf("holidays not cleared: %v", got.GetTeam())
	}

	// Staff.
	ada, err := o.teams.AddStaff(ctx, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-ada-1", TeamId: team.GetTeamId(),
		Name: "Ada", Email: " Ada@Example.com ", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT})
	if err != nil {
		t.Fatal(err)
	}
	if s := ada.GetStaff(); s.GetEmail() != "ada@example.com" || !s.GetActive() || s.GetRole() != feedbackv1.StaffRole_STAFF_ROLE_AGENT {
		t.Fatalf("added %v", s)
	}
	// A retry returns the same row; the key reused for another request is refused.
	retry, err := o.teams.AddStaff(ctx, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-ada-1", TeamId: team.GetTeamId(),
		Name: "Ada", Email: "ada@example.com", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT})
	if err != nil || retry.GetStaff().GetStaffId() != ada.GetStaff().GetStaffId() {
		t.Fatalf("AddStaff retry: %v, %v", retry, err)
	}
	_, err = o.teams.AddStaff(ctx, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-ada-1", TeamId: team.GetTeamId(),
		Name: "Ada", Email: "ada@example.com", Role: feedbackv1.StaffRole_STAFF_ROLE_MANAGER})
	testkit.WantCode(t, err, codes.FailedPrecondition)
	if grpcx.Reason(err) != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("reason %q", grpcx.Reason(err))
	}
	_, err = o.teams.AddStaff(ctx, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-ada-2", TeamId: team.GetTeamId(),
		Name: "Ada again", Email: "ADA@example.com", Role: feedbackv1.StaffRole_STAFF_ROLE_MANAGER})
	testkit.WantCode(t, err, codes.AlreadyExists)
	_, err = o.teams.AddStaff(ctx, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-nobody", TeamId: uuid.NewString(),
		Name: "Nobody", Email: "nobody@example.com", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT})
	testkit.WantCode(t, err, codes.NotFound)
	lead, err := o.teams.AddStaff(ctx, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-lena-1", TeamId: team.GetTeamId(),
		Name: "Lena", Email: "lena@example.com", Role: feedbackv1.StaffRole_STAFF_ROLE_TEAM_LEAD})
	if err != nil {
		t.Fatal(err)
	}

	// Ada moves to customer service as a manager and is deactivated.
	cs, _ := o.teams.GetTeam(ctx, &feedbackv1.GetTeamRequest{Team: "customer-service"})
	moved, err := o.teams.UpdateStaff(ctx, &feedbackv1.UpdateStaffRequest{StaffId: ada.GetStaff().GetStaffId(),
		TeamId: cs.GetTeam().GetTeamId(), Name: "Ada L.", Email: "ada@example.com", Role: feedbackv1.StaffRole_STAFF_ROLE_MANAGER})
	if err != nil {
		t.Fatal(err)
	}
	if s := moved.GetStaff(); s.GetTeamId() != cs.GetTeam().GetTeamId() || s.GetActive() || s.GetName() != "Ada L." ||
		s.GetRole() != feedbackv1.StaffRole_STAFF_ROLE_MANAGER {
		t.Fatalf("moved %v", s)
	}
	_, err = o.teams.UpdateStaff(ctx, &feedbackv1.UpdateStaffRequest{StaffId: lead.GetStaff().GetStaffId(),
		TeamId: team.GetTeamId(), Name: "Lena", Email: "ada@example.com", Role: feedbackv1.StaffRole_STAFF_ROLE_TEAM_LEAD, Active: true})
	testkit.WantCode(t, err, codes.AlreadyExists)
	_, err = o.teams.UpdateStaff(ctx, &feedbackv1.UpdateStaffRequest{StaffId: uuid.NewString(),
		TeamId: team.GetTeamId(), Name: "Who", Email: "who@example.com", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT, Active: true})
	testkit.WantCode(t, err, codes.NotFound)

	names := func(req *feedbackv1.ListStaffRequest) []string {
		t.Helper()
		resp, err := o.teams.ListStaff(as(keyAlice), req)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range resp.GetStaff() {
			out = append(out, s.GetName())
		}
		return out
	}
	if got := names(&feedbackv1.ListStaffRequest{TeamId: team.GetTeamId()}); !slices.Equal(got, []string{"Lena"}) {
		t.Fatalf("store-ops staff = %v", got)
	}
	if got := names(&feedbackv1.ListStaffRequest{TeamId: cs.GetTeam().GetTeamId()}); len(got) != 0 {
		t.Fatalf("active customer-service staff = %v", got)
	}
	if got := names(&feedbackv1.ListStaffRequest{IncludeInactive: true}); !slices.Equal(got, []string{"Ada L.", "Lena"}) {
		t.Fatalf("all staff = %v", got)
	}
}

func TestTeamValidationNamesTheField(t *testing.T) {
	t.Parallel()
	o := startOrg(t)
	ctx := as(keyAdmin)
	base := func() *feedbackv1.CreateTeamRequest {
		return &feedbackv1.CreateTeamRequest{IdempotencyKey: uuid.NewString(), Key: "returns", Name: "Returns",
			TimeZone: "Europe/Berlin", Hours: officeHours()}
	}
	tests := []struct {
		name  string
		edit  func(r *feedbackv1.CreateTeamRequest)
		field string
	}{
		{"bad start", func(r *feedbackv1.CreateTeamRequest) { r.Hours.Monday = []*feedbackv1.Span{span("9:00", "12:00")} }, "hours.monday[0].start"},
		{"bad end", func(r *feedbackv1.CreateTeamRequest) { r.Hours.Friday = []*feedbackv1.Span{span("09:00", "24:30")} }, "hours.friday[0].end"},
		{"end before start", func(r *feedbackv1.CreateTeamRequest) { r.Hours.Sunday = []*feedbackv1.Span{span("17:00", "09:00")} }, "hours.sunday[0].end"},
		{"overlapping spans", func(r *feedbackv1.CreateTeamRequest) {
			r.Hours.Tuesday = []*feedbackv1.Span{span("09:00", "13:00"), span("12:00", "17:00")}
		}, "hours.tuesday[1]"},
		{"a week without hours", func(r *feedbackv1.CreateTeamRequest) { r.Hours = &feedbackv1.BusinessHours{} }, "hours"},
		{"unknown zone", func(r *feedbackv1.CreateTeamRequest) { r.TimeZone = "Europe/Atlantis" }, "time_zone"},
		{"the machine's zone", func(r *feedbackv1.CreateTeamRequest) { r.TimeZone = "Local" }, "time_zone"},
		{"key not a slug", func(r *feedbackv1.CreateTeamRequest) { r.Key = "Customer Service" }, "key"},
		{"no name", func(r *feedbackv1.CreateTeamRequest) { r.Name = "" }, "name"},
		{"no idempotency key", func(r *feedbackv1.CreateTeamRequest) { r.IdempotencyKey = "" }, "idempotency_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			tt.edit(r)
			_, err := o.teams.CreateTeam(ctx, r)
			testkit.WantCode(t, err, codes.InvalidArgument)
			if f := badFields(err); !slices.Contains(f, tt.field) {
				t.Fatalf("fields %v, want %s (%v)", f, tt.field, err)
			}
		})
	}
	team := o.createTeam("returns", 0)
	_, err := o.teams.UpdateTeam(ctx, &feedbackv1.UpdateTeamRequest{TeamId: team.GetTeamId(), Name: "Returns",
		Hours: &feedbackv1.BusinessHours{Wednesday: []*feedbackv1.Span{span("08:00", "12:00"), span("07:00", "09:00")}}})
	testkit.WantCode(t, err, codes.InvalidArgument)
	if f := badFields(err); !slices.Contains(f, "hours.wednesday[1]") {
		t.Fatalf("update fields %v", f)
	}
	for _, c := range []struct {
		hs    []*feedbackv1.Holiday
		field string
	}{
		{[]*feedbackv1.Holiday{{Day: "24.12.2026"}}, "holidays[0].day"},
		{[]*feedbackv1.Holiday{{Day: "2026-12-24"}, {Day: "2026-02-30"}}, "holidays[1].day"},
		{[]*feedbackv1.Holiday{{Day: "2026-12-24"}, {Day: "2026-12-24"}}, "holidays[1].day"},
	} {
		_, err := o.teams.SetHolidays(ctx, &feedbackv1.SetHolidaysRequest{TeamId: team.GetTeamId(), Holidays: c.hs})
		testkit.WantCode(t, err, codes.InvalidArgument)
		if f := badFields(err); !slices.Contains(f, c.field) {
			t.Fatalf("holidays %v: fields %v, want %s", c.hs, f, c.field)
		}
	}
	for _, c := range []struct {
		req   *feedbackv1.AddStaffRequest
		field string
	}{
		{&feedbackv1.AddStaffRequest{IdempotencyKey: "staff-1-x", TeamId: team.GetTeamId(), Name: "A", Email: "not-an-email", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT}, "email"},
		{&feedbackv1.AddStaffRequest{IdempotencyKey: "staff-2-x", TeamId: team.GetTeamId(), Name: " ", Email: "a@example.com", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT}, "name"},
		{&feedbackv1.AddStaffRequest{IdempotencyKey: "staff-3-x", TeamId: team.GetTeamId(), Name: "A", Email: "a@example.com"}, "role"},
	} {
		_, err := o.teams.AddStaff(ctx, c.req)
		testkit.WantCode(t, err, codes.InvalidArgument)
		if f := badFields(err); !slices.Contains(f, c.field) {
			t.Fatalf("AddStaff %v: fields %v, want %s", c.req, f, c.field)
		}
	}
}

func TestTeamServiceRoles(t *testing.T) {
	t.Parallel()
	o := startOrg(t)
	team := o.createTeam("billing", 0)
	writes := map[string]func(ctx context.Context) error{
		"CreateTeam": func(ctx context.Context) error {
			_, err := o.teams.CreateTeam(ctx, &feedbackv1.CreateTeamRequest{IdempotencyKey: "roles-team", Key: "roles", Name: "Roles"})
			return err
		},
		"UpdateTeam": func(ctx context.Context) error {
			_, err := o.teams.UpdateTeam(ctx, &feedbackv1.UpdateTeamRequest{TeamId: team.GetTeamId(), Name: "Billing"})
			return err
		},
		"SetHolidays": func(ctx context.Context) error {
			_, err := o.teams.SetHolidays(ctx, &feedbackv1.SetHolidaysRequest{TeamId: team.GetTeamId()})
			return err
		},
		"AddStaff": func(ctx context.Context) error {
			_, err := o.teams.AddStaff(ctx, &feedbackv1.AddStaffRequest{IdempotencyKey: "roles-staff", TeamId: team.GetTeamId(),
				Name: "R", Email: "r@example.com", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT})
			return err
		},
	}
	reads := map[string]func(ctx context.Context) error{
		"GetTeam": func(ctx context.Context) error {
			_, err := o.teams.GetTeam(ctx, &feedbackv1.GetTeamRequest{Team: "billing"})
			return err
		},
		"ListTeams": func(ctx context.Context) error {
			_, err := o.teams.ListTeams(ctx, &feedbackv1.ListTeamsRequest{})
			return err
		},
		"ListStaff": func(ctx context.Context) error {
			_, err := o.teams.ListStaff(ctx, &feedbackv1.ListStaffRequest{})
			return err
		},
	}
	for name, call := range writes {
		for _, key := range []string{keyAlice, keyMarket, keyAuditor, keyPOS, keyPrivacy} {
			testkit.WantCode(t, call(as(key)), codes.PermissionDenied)
		}
		if err := call(as(keyAdmin)); err != nil {
			t.Errorf("%s as admin: %v", name, err)
		}
	}
	for name, call := range reads {
		for _, key := range []string{keyAdmin, keyAlice, keyMarket, keyAuditor} {
			if err := call(as(key)); err != nil {
				t.Errorf("%s as %s: %v", name, key, err)
			}
		}
		for _, key := range []string{keyPOS, keyPrivacy} {
			testkit.WantCode(t, call(as(key)), codes.PermissionDenied)
		}
		testkit.WantCode(t, call(context.Background()), codes.Unauthenticated)
	}
}

// assign runs the Assigner in a transaction of its own, storing an open case for the
// staff it picks (as opening a case does).
func (o *orgEnv) assign(teamKey string) string {
	o.t.Helper()
	var picked string
	err := o.store.InTx(context.Background(), func(ctx context.Context, tx app.Tx) error {
		var err error
		if picked, err = (app.Assigner{}).Assign(ctx, tx, teamKey); err != nil || picked == "" {
			return err
		}
		return o.insertCase(ctx, teamKey, picked, "open")
	})
	if err != nil {
		o.t.Fatal(err)
	}
	return picked
}

func (o *orgEnv) insertCase(ctx context.Context, team, assignee, status string) error {
	var outcome, resolvedAt any
	if status == "resolved" {
		outcome, resolvedAt = "CONTACTED_RESOLVED", time.Now()
	}
	// Inside an InTx callback, in its transaction (ctx carries it).
	exec := o.db.Exec
	if tx, ok := pg.TxFrom(ctx); ok {
		exec = tx.Exec
	}
	_, err := exec(ctx, `INSERT INTO cases (case_id, response_id, kind, team, status, score, nps_class, touchpoint,
		rule_id, rule_version, submitted_at, opened_at, due_at, assignee, outcome, resolved_at)
		VALUES ($1, $2, 'CALLBACK', $3, $4, 3, 'DETRACTOR', 'PURCHASE', 1, 1, now(), now(), now() + interval '1 day', $5, $6, $7)`,
		uuid.NewString(), uuid.NewString(), team, status, assignee, outcome, resolvedAt)
	return err
}

func TestRoundRobinAssignment(t *testing.T) {
	t.Parallel()
	o := startOrg(t)
	team := o.createTeam("round", feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_ROUND_ROBIN)
	if got := o.assign("round"); got != "" {
		t.Fatalf("a team without agents assigned %q", got)
	}
	if got := o.assign("no-such-team"); got != "" {
		t.Fatalf("an unknown team assigned %q", got)
	}
	var agents []string
	for _, n := range []string{"anna", "ben", "cleo"} {
		agents = append(agents, o.addStaff(team.GetTeamId(), n, feedbackv1.StaffRole_STAFF_ROLE_AGENT).GetStaffId())
	}
	o.addStaff(team.GetTeamId(), "lars", feedbackv1.StaffRole_STAFF_ROLE_TEAM_LEAD)
	gone := o.addStaff(team.GetTeamId(), "dora", feedbackv1.StaffRole_STAFF_ROLE_AGENT)
	if _, err := o.teams.UpdateStaff(as(keyAdmin), &feedbackv1.UpdateStaffRequest{StaffId: gone.GetStaffId(), TeamId: team.GetTeamId(),
		Name: gone.GetName(), Email: gone.GetEmail(), Role: gone.GetRole(), Active: false}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(agents)

	// In turn, by id: the team lead and the inactive agent get nothing.
	var seq []string
	for range 6 {
		seq = append(seq, o.assign("round"))
	}
	if want := append(append([]string{}, agents...), agents...); !slices.Equal(seq, want) {
		t.Fatalf("sequence %v, want %v", seq, want)
	}

	// 60 cases opened at once: every agent gets exactly 20 (none skipped, none doubled).
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wg     sync.WaitGroup
	)
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := o.assign("round")
			mu.Lock()
			counts[p]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, a := range agents {
		if counts[a] != 20 {
			t.Fatalf("concurrent round robin: %v", counts)
		}
	}
	if len(counts) != 3 {
		t.Fatalf("assigned to others: %v", counts)
	}
	// The cursor continues where the concurrent run stopped: the next is the one after
	// the last, whoever that was.
	var last string
	if err := o.db.QueryRow(context.Background(), `SELECT last_staff_id::text FROM assignment_cursors
		WHERE team_id = $1`, team.GetTeamId()).Scan(&last); err != nil {
		t.Fatal(err)
	}
	next := agents[(slices.Index(agents, last)+1)%3]
	if got := o.assign("round"); got != next {
		t.Fatalf("after %s came %s, want %s", last, got, next)
	}
}

func TestFewestOpenAssignment(t *testing.T) {
	t.Parallel()
	o := startOrg(t)
	ctx := context.Background()
	team := o.createTeam("fewest", feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_FEWEST_OPEN)
	var agents []string
	for _, n := range []string{"anna", "ben", "cleo", "dora"} {
		agents = append(agents, o.addStaff(team.GetTeamId(), n, feedbackv1.StaffRole_STAFF_ROLE_AGENT).GetStaffId())
	}
	slices.Sort(agents)
	a, b, c, d := agents[0], agents[1], agents[2], agents[3]
	// d is the least loaded but inactive; b has resolved cases only (they do not count).
	load := []struct {
		who    string
		status string
		n      int
	}{{a, "open", 2}, {b, "resolved", 3}, {b, "open", 1}, {c, "open", 3}}
	for _, l := range load {
		for range l.n {
			if err := o.insertCase(ctx, "fewest", l.who, l.status); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := o.teams.UpdateStaff(as(keyAdmin), &feedbackv1.UpdateStaffRequest{StaffId: d, TeamId: team.GetTeamId(),
		Name: "dora", Email: fmt.Sprintf("dora-%s@example.com", team.GetTeamId()[len(team.GetTeamId())-6:]),
		Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT}); err != nil {
		t.Fatal(err)
	}
	// Open: a 2, b 1, c 3.
	if got := o.assign("fewest"); got != b {
		t.Fatalf("picked %s, want the least loaded %s", got, b)
	}
	// a 2, b 2, c 3: a tie goes to the smaller id.
	if got := o.assign("fewest"); got != a {
		t.Fatalf("picked %s, want %s (tie by id)", got, a)
	}
	// a 3, b 2, c 3 → b; then 3, 3, 3. Nine more at once end at 6 each.
	if got := o.assign("fewest"); got != b {
		t.Fatalf("picked %s, want %s", got, b)
	}
	var wg sync.WaitGroup
	for range 9 {
		wg.Add(1)
		go func() { defer wg.Done(); o.assign("fewest") }()
	}
	wg.Wait()
	for _, who := range []string{a, b, c} {
		if n := o.db.Count(`SELECT count(*) FROM cases WHERE assignee = $1 AND status = 'open'`, who); n != 6 {
			t.Fatalf("%s has %d open cases, want 6", who, n)
		}
	}
	if n := o.db.Count(`SELECT count(*) FROM cases WHERE assignee = $1`, d); n != 0 {
		t.Fatalf("the inactive agent got %d cases", n)
	}
}
