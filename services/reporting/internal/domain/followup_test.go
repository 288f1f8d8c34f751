package domain

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// The events of one case, in any order and split into batches anyhow, fold into the same
// case: a reopening undoes the resolutions before it only, the first contact is the
// earliest, due times the latest, the follow-up answer the latest, counts add up.
func TestCaseChangesMergeInAnyOrder(t *testing.T) {
	at := func(h int) time.Time {
		return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour)
	}
	events := []CaseChange{
		{ID: "c", Kind: "CALLBACK", Team: "care", StoreID: "s1", OpenedAt: at(0), DueAt: at(24), FirstContactDueAt: at(4)},
		{ID: "c", Team: "care", FirstContactDueAt: at(6), DueAt: at(26)}, // a wait ended: the due times moved
		{ID: "c", Team: "care", FirstContactAt: at(5)},
		{ID: "c", EscalationLevel: 1},
		{ID: "c", EscalationLevel: 2},
		{ID: "c", Reminded: true},
		{ID: "c", Outcome: "CONTACTED_RESOLVED", ResolvedAt: at(8), FirstContactAt: at(8)},
		{ID: "c", FollowUp: FollowUpAnswer{At: at(10), Kind: KindCSAT, Score: 2, Solved: "no"}},
		{ID: "c", ReopenedAt: at(10), Reopens: 1},
		{ID: "c", Outcome: "CONTACTED_RESOLVED", ResolvedAt: at(12), FirstContactAt: at(12)},
		{ID: "c", GoodwillPoints: 200},
		{ID: "c", GoodwillCoupon: true},
		{ID: "c", FollowUp: FollowUpAnswer{At: at(14), Kind: KindCSAT, Score: 5, Satisfied: true, Solved: "yes"}},
	}
	want := CaseChange{ID: "c", Kind: "CALLBACK", Team: "care", StoreID: "s1", Outcome: "CONTACTED_RESOLVED",
		OpenedAt: at(0), DueAt: at(26), FirstContactDueAt: at(6), ResolvedAt: at(12), ReopenedAt: at(10), Reopens: 1,
		FirstContactAt: at(5), EscalationLevel: 2, Reminded: true,
		FollowUp:       FollowUpAnswer{At: at(14), Kind: KindCSAT, Score: 5, Satisfied: true, Solved: "yes"},
		GoodwillPoints: 200, GoodwillCoupon: true}
	if got := MergeCaseChanges(events); !reflect.DeepEqual(got, []CaseChange{want}) {
		t.Fatalf("in stream order:\n%+v\nwant\n%+v", got, want)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 200 {
		shuffled := append([]CaseChange(nil), events...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		// Batches of random size, each folded, then folded together as the store does.
		var acc []CaseChange
		for len(shuffled) > 0 {
			n := 1 + rng.IntN(len(shuffled))
			acc = MergeCaseChanges(append(acc, MergeCaseChanges(shuffled[:n])...))
			shuffled = shuffled[n:]
		}
		got := acc[0]
		// The descriptive fields are the later event's: only the times and counts are
		// order-free.
		got.Outcome = want.Outcome
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d:\n%+v\nwant\n%+v", run, got, want)
		}
	}
}

func TestReopeningAfterTheLastResolutionLeavesTheCaseOpen(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	got := MergeCaseChanges([]CaseChange{
		{ID: "c", ReopenedAt: at.Add(2 * time.Hour), Reopens: 1},
		{ID: "c", ResolvedAt: at.Add(time.Hour)},
	})
	if !got[0].ResolvedAt.IsZero() || got[0].Reopens != 1 {
		t.Errorf("resolved at 1h, reopened at 2h: %+v, want open (no resolved time) with one reopening", got[0])
	}
}

func TestLoopEventChecks(t *testing.T) {
	at := time.Now()
	for name, err := range map[string]error{
		"contact without time":  second(CaseContacted(CaseChange{ID: "x"})),
		"reopened without id":   second(CaseReopened(CaseChange{ReopenedAt: at})),
		"merged without time":   second(CaseMerged(CaseChange{ID: "x"})),
		"escalated to level 4":  second(CaseEscalated(CaseChange{ID: "x", EscalationLevel: 4}, at)),
		"escalated to level 0":  second(CaseEscalated(CaseChange{ID: "x"}, at)),
		"reminder without time": second(CaseReminded(CaseChange{ID: "x"}, time.Time{})),
		"CSAT follow-up of 6":   second(CaseFollowUp(CaseChange{ID: "x", FollowUp: FollowUpAnswer{At: at, Kind: KindCSAT, Score: 6}})),
		"follow-up solved what": second(CaseFollowUp(CaseChange{ID: "x", FollowUp: FollowUpAnswer{At: at, Kind: KindCSAT, Score: 3, Solved: "maybe"}})),
		"negative goodwill":     second(CaseGoodwill(CaseChange{ID: "x", GoodwillPoints: -1}, at)),
	} {
		if !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: err = %v, want ErrInvalidEvent", name, err)
		}
	}
	c, err := CaseReopened(CaseChange{ID: "x", ReopenedAt: at})
	if err != nil || c.Reopens != 1 {
		t.Errorf("a reopening = %+v, %v; want one reopening", c, err)
	}
}

// A resolution that reached the customer is their first contact when none was recorded;
// an unreachable customer or a case without action was not contacted.
func TestResolutionCountsAsContactByOutcome(t *testing.T) {
	at := time.Now()
	for outcome, contact := range map[string]bool{
		"CONTACTED_RESOLVED": true, "CONTACTED_UNRESOLVED": true, "REFERRAL_GIVEN": true, "REFERRAL_DECLINED": true,
		"UNREACHABLE": false, "NO_ACTION_NEEDED": false, "": false,
	} {
		c, err := CaseResolved(CaseChange{ID: "x", Outcome: outcome, ResolvedAt: at})
		if err != nil || c.FirstContactAt.IsZero() == contact {
			t.Errorf("resolved %q: first contact %v, %v; want contact %v", outcome, c.FirstContactAt, err, contact)
		}
	}
}

func TestFollowUpShares(t *testing.T) {
	c := FollowUpCounts{
		Contacted: 5, ContactedWithDue: 4, ContactedInTime: 3,
		ReachedLevel: [3]int64{3, 1, 0},
		FollowUps:    4, SolvedAnswered: 3, SolvedYes: 2, Satisfied: 1,
		FollowUpCSAT: ScoreCounts{Responses: 3, ScoreSum: 10, Favourable: 1},
	}
	got := []float64{c.FirstContactInTimeShare(), c.SolvedShare(), c.SatisfiedShare(), c.FollowUpCSAT.Average(), float64(c.Escalated())}
	want := []float64{0.75, 2.0 / 3, 0.25, 10.0 / 3, 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("shares %v, want %v", got, want)
	}
	var none FollowUpCounts
	if none.FirstContactInTimeShare() != 0 || none.SolvedShare() != 0 || none.SatisfiedShare() != 0 {
		t.Error("shares of no cases are not 0")
	}
}

func TestFollowUpReportOrdersTeamsAndPeriodBounds(t *testing.T) {
	p := Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)}
	r := NewFollowUpReport(p, "", "", FollowUpCounts{Opened: 3}, []FollowUpGroup{{Team: "sales"}, {Team: ""}, {Team: "care"}})
	var teams []string
	for _, g := range r.ByTeam {
		teams = append(teams, g.Team)
	}
	if !reflect.DeepEqual(teams, []string{"", "care", "sales"}) {
		t.Errorf("teams %q, want by name", teams)
	}
	from, until := p.Bounds()
	if !from.Equal(p.From) || !until.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("bounds %v..%v, want March 1 to April 1 (excluded)", from, until)
	}
}
