package domain

import (
	"errors"
	"testing"
	"time"
)

var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
	if err != nil {
		panic(err)
	}
	return t
}

// Easter 2026: Good Friday 3 April, Easter Monday 6 April.
// A team calendar: Monday to Friday 09:00–17:00 in Berlin, the Easter holidays closed.
var easter = func() Calendar {
	c := Calendar{Location: berlin, Holidays: []Holiday{{Day: "2026-04-03", Name: "Karfreitag"}, {Day: "2026-04-06", Name: "Ostermontag"}}}
	for d := time.Monday; d <= time.Friday; d++ {
		c.Hours[d] = []Span{{9 * 60, 17 * 60}}
	}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}()

func openCase(submitted time.Time) Case {
	c := Case{ID: "c1", Kind: KindCallback, Status: StatusOpen, MemberID: "m1", SubmittedAt: submitted, OpenedAt: submitted}
	c.ApplySLA(SLA{FirstContact: 4 * time.Hour, Resolution: 16 * time.Hour}, easter)
	return c
}

func TestSLAAcrossWeekendAndHoliday(t *testing.T) {
	// Thursday 2 April 15:00: 2h left that day; Good Friday, the weekend and Easter Monday
	// are closed; the first contact is due Tuesday 7 April 11:00, the resolution (16h)
	// Wednesday 8 April 15:00.
	c := openCase(at("2026-04-02 15:00"))
	if want := at("2026-04-07 11:00"); !c.FirstContactDueAt.Equal(want) {
		t.Fatalf("first contact due %v, want %v", c.FirstContactDueAt, want)
	}
	if want := at("2026-04-08 15:00"); !c.DueAt.Equal(want) {
		t.Fatalf("resolution due %v, want %v", c.DueAt, want)
	}
	if c.Overdue(at("2026-04-06 20:00")) {
		t.Fatal("overdue over the holiday weekend")
	}
	if !c.FirstContactOverdue(at("2026-04-07 11:01")) || c.ResolutionOverdue(at("2026-04-07 11:01")) {
		t.Fatal("first contact not overdue after its due time, or resolution overdue too early")
	}
}

func TestPauseWhileWaitingExtendsDueTimes(t *testing.T) {
	c := openCase(at("2026-04-02 15:00"))
	mustT(t)(c.Acknowledge("agent-1", at("2026-04-02 15:30")))
	mustT(t)(c.RecordContact("agent-1", at("2026-04-02 16:00"), "called"))
	mustT(t)(c.Wait("agent-1", at("2026-04-02 16:30"), "customer sends the receipt"))
	// While waiting, the case is never overdue.
	if c.Overdue(at("2026-04-20 12:00")) {
		t.Fatal("a waiting case is overdue")
	}
	// Resumed Tuesday 7 April 10:00: waited 30 min Thursday + 1h Tuesday = 1.5h business.
	tr, err := c.Resume(easter, "agent-1", at("2026-04-07 10:00"), "receipt arrived")
	if err != nil {
		t.Fatal(err)
	}
	if tr.From != StatusWaiting || tr.To != StatusContacted || c.Status != StatusContacted {
		t.Fatalf("resume went %s → %s, status %s", tr.From, tr.To, c.Status)
	}
	if c.Paused != 90*time.Minute {
		t.Fatalf("paused %v, want 1h30m", c.Paused)
	}
	if want := at("2026-04-08 16:30"); !c.DueAt.Equal(want) {
		t.Fatalf("resolution due %v after the pause, want %v", c.DueAt, want)
	}
	// The first contact was made: its due time stays.
	if want := at("2026-04-07 11:00"); !c.FirstContactDueAt.Equal(want) {
		t.Fatalf("first contact due moved to %v", c.FirstContactDueAt)
	}
	if c.Overdue(at("2026-04-08 16:00")) || !c.Overdue(at("2026-04-08 16:31")) {
		t.Fatal("overdue against the wrong due time after the pause")
	}
}

func mustT(t *testing.T) func(Transition, error) Transition {
	return func(tr Transition, err error) Transition {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
}

func TestLifecycleTransitions(t *testing.T) {
	now := at("2026-04-07 10:00")
	type step func(c *Case) (Transition, error)
	ack := func(c *Case) (Transition, error) { return c.Acknowledge("a", now) }
	contact := func(c *Case) (Transition, error) { return c.RecordContact("a", now, "") }
	wait := func(c *Case) (Transition, error) { return c.Wait("a", now, "") }
	resume := func(c *Case) (Transition, error) { return c.Resume(easter, "a", now, "") }
	resolve := func(c *Case) (Transition, error) {
		return c.ResolveWith(easter, OutcomeContactedResolved, "DELIVERY", "", "a", now)
	}
	closeC := func(c *Case) (Transition, error) { return c.Close("a", now, "") }
	reopen := func(c *Case) (Transition, error) { return c.Reopen("a", now, "") }
	steps := map[string]step{"acknowledge": ack, "contact": contact, "wait": wait, "resume": resume, "resolve": resolve, "close": closeC, "reopen": reopen}
	// legal[from] = the actions allowed and where they lead.
	legal := map[Status]map[string]Status{
		StatusOpen:         {"acknowledge": StatusAcknowledged, "contact": StatusContacted, "resolve": StatusResolved},
		StatusAcknowledged: {"contact": StatusContacted, "wait": StatusWaiting, "resolve": StatusResolved},
		StatusContacted:    {"wait": StatusWaiting, "resolve": StatusResolved},
		StatusWaiting:      {"resume": StatusAcknowledged, "resolve": StatusResolved},
		StatusResolved:     {"close": StatusClosed, "reopen": StatusOpen},
		StatusClosed:       {"reopen": StatusOpen},
	}
	for _, from := range Statuses {
		for name, do := range steps {
			c := openCase(at("2026-04-02 15:00"))
			c.Status = from
			if from == StatusWaiting {
				c.WaitingFrom, c.WaitingSince = StatusAcknowledged, now
			}
			tr, err := do(&c)
			want, ok := legal[from][name]
			if !ok {
				if err == nil {
					t.Errorf("%s from %s allowed", name, from)
				} else if !errors.Is(err, ErrIllegalTransition) && !errors.Is(err, ErrAlreadyResolved) {
					t.Errorf("%s from %s: %v, want an illegal transition", name, from, err)
				}
				if c.Status != from {
					t.Errorf("%s from %s refused but changed the status to %s", name, from, c.Status)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s from %s: %v", name, from, err)
				continue
			}
			if c.Status != want || tr.From != from || tr.To != want || tr.Action == "" || tr.By != "a" {
				t.Errorf("%s from %s: status %s, transition %+v; want %s", name, from, c.Status, tr, want)
			}
		}
	}
}

func TestResolveRecordsOutcomeAndRootCauseAndReopenClearsThem(t *testing.T) {
	c := openCase(at("2026-04-02 15:00"))
	if _, err := c.ResolveWith(easter, OutcomeReferralGiven, "X", "", "a", at("2026-04-07 10:00")); !errors.Is(err, ErrOutcomeNotAllowed) {
		t.Fatalf("a referral outcome closed a call-back: %v", err)
	}
	mustT(t)(c.ResolveWith(easter, OutcomeContactedResolved, "DELIVERY", "refunded", "a", at("2026-04-07 10:00")))
	if c.RootCause != "DELIVERY" || c.Outcome != OutcomeContactedResolved || c.ResolvedBy != "a" {
		t.Fatalf("resolution not kept: %+v", c)
	}
	mustT(t)(c.Close("a", at("2026-04-07 11:00"), ""))
	mustT(t)(c.Reopen("lead", at("2026-04-07 12:00"), "customer called again"))
	if c.Status != StatusOpen || c.Outcome != "" || !c.ResolvedAt.IsZero() || !c.ClosedAt.IsZero() {
		t.Fatalf("reopened case keeps its resolution: %+v", c)
	}
}

func TestReassignAndMerge(t *testing.T) {
	now := at("2026-04-07 10:00")
	c := openCase(at("2026-04-02 15:00"))
	c.Assignee = "s1"
	tr := mustT(t)(c.Reassign("s2", "lead", now, "holiday"))
	if c.Assignee != "s2" || tr.Action != "reassign" || tr.Note != "s1 → s2: holiday" {
		t.Fatalf("reassign: %+v %+v", c, tr)
	}
	if _, err := c.Reassign("s2", "lead", now, ""); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("reassign to the same: %v", err)
	}
	dup := openCase(at("2026-04-02 16:00"))
	dup.ID = "c2"
	other := dup
	other.MemberID = "m2"
	if _, err := other.MergeInto(c, "lead", now); !errors.Is(err, ErrNotMergeable) {
		t.Fatalf("merge of two members: %v", err)
	}
	if _, err := c.MergeInto(c, "lead", now); !errors.Is(err, ErrNotMergeable) {
		t.Fatalf("merge into itself: %v", err)
	}
	tr = mustT(t)(dup.MergeInto(c, "lead", now))
	if dup.Status != StatusClosed || dup.MergedInto != "c1" || tr.To != StatusClosed || tr.Action != "merged" {
		t.Fatalf("merge: %+v %+v", dup, tr)
	}
	if _, err := dup.Reopen("lead", now, ""); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("a merged case reopened: %v", err)
	}
}

func TestReminderOnceAndEscalationChain(t *testing.T) {
	p := SweepPolicy{ReminderAt: 0.8, Step: 2 * time.Hour}
	c := openCase(at("2026-04-02 15:00")) // first contact (4h) due Tue 7 April 11:00
	// 80% of 4h = 3h12m: reminded from Tue 10:12 on (48 min left), not before.
	if c.DueReminder(p, easter, at("2026-04-07 10:11")) {
		t.Fatal("reminded too early")
	}
	if !c.DueReminder(p, easter, at("2026-04-07 10:12")) {
		t.Fatal("not reminded at 80%")
	}
	c.RemindedAt = at("2026-04-07 10:12")
	if c.DueReminder(p, easter, at("2026-04-07 10:30")) {
		t.Fatal("reminded twice")
	}
	for _, tc := range []struct {
		now  string
		want int
	}{
		{"2026-04-07 11:00", 0},
		{"2026-04-07 11:01", EscalateAssignee},
		{"2026-04-07 12:59", EscalateAssignee},
		{"2026-04-07 13:00", EscalateTeamLead},
		{"2026-04-07 14:59", EscalateTeamLead},
		{"2026-04-07 15:00", EscalateManager},
		// Levels stop at the manager.
		{"2026-04-10 15:00", EscalateManager},
	} {
		if got := c.DueEscalation(p, easter, at(tc.now)); got != tc.want {
			t.Errorf("escalation at %s: %d, want %d", tc.now, got, tc.want)
		}
	}
	// A waiting case does not escalate; the level reached is kept.
	c.EscalationLevel = EscalateTeamLead
	c.Status = StatusAcknowledged
	mustT(t)(c.Wait("a", at("2026-04-07 14:00"), ""))
	if got := c.DueEscalation(p, easter, at("2026-04-09 14:00")); got != EscalateTeamLead {
		t.Fatalf("waiting case escalated to %d", got)
	}
}

func TestFollowUpUnsolved(t *testing.T) {
	for _, tc := range []struct {
		kind   ScoreKind
		score  int
		solved string
		want   bool
	}{
		{ScoreCSAT, 5, SolvedNo, true},   // the customer's word wins over the score
		{ScoreCSAT, 1, SolvedYes, false}, // solved, if grudgingly
		{ScoreCSAT, 2, "", true},
		{ScoreCSAT, 3, "", false},
		{ScoreCES, 3, "", true},
		{ScoreCES, 4, "", false},
		{ScoreNPS, 6, "", true},
		{ScoreNPS, 7, "", false},
	} {
		f := FollowUp{ScoreKind: tc.kind, Score: tc.score, Solved: tc.solved}
		if got := f.Unsolved(); got != tc.want {
			t.Errorf("%s %d solved %q: unsolved %v, want %v", tc.kind, tc.score, tc.solved, got, tc.want)
		}
	}
}
