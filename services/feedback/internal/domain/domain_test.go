package domain_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestDueAt(t *testing.T) {
	tests := []struct {
		name  string
		dueIn time.Duration
		want  time.Time
	}{
		{"callback in 48h", 48 * time.Hour, t0.Add(48 * time.Hour)},
		{"referral in 7 days", 168 * time.Hour, time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.DueAt(t0, tt.dueIn); !got.Equal(tt.want) {
				t.Errorf("DueAt = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsOverdue(t *testing.T) {
	due := t0
	tests := []struct {
		name   string
		status domain.Status
		now    time.Time
		want   bool
	}{
		{"open before due", domain.StatusOpen, due.Add(-time.Second), false},
		{"open at due", domain.StatusOpen, due, false},
		{"open after due", domain.StatusOpen, due.Add(time.Second), true},
		{"resolved after due", domain.StatusResolved, due.Add(time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.IsOverdue(tt.status, due, tt.now); got != tt.want {
				t.Errorf("IsOverdue = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckOutcome(t *testing.T) {
	tests := []struct {
		kind    domain.CaseKind
		outcome domain.Outcome
		ok      bool
	}{
		{domain.KindCallback, domain.OutcomeContactedResolved, true},
		{domain.KindCallback, domain.OutcomeContactedUnresolved, true},
		{domain.KindCallback, domain.OutcomeUnreachable, true},
		{domain.KindCallback, domain.OutcomeNoActionNeeded, true},
		{domain.KindCallback, domain.OutcomeReferralGiven, false},
		{domain.KindCallback, domain.OutcomeReferralDeclined, false},
		{domain.KindReferralRequest, domain.OutcomeReferralGiven, true},
		{domain.KindReferralRequest, domain.OutcomeReferralDeclined, true},
		{domain.KindReferralRequest, domain.OutcomeNoActionNeeded, true},
		{domain.KindReferralRequest, domain.OutcomeContactedResolved, false},
		{domain.KindReferralRequest, domain.OutcomeContactedUnresolved, false},
		{domain.KindReferralRequest, domain.OutcomeUnreachable, false},
		{domain.KindCallback, domain.Outcome("LOST"), false},
		{domain.CaseKind("OTHER"), domain.OutcomeNoActionNeeded, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/"+string(tt.outcome), func(t *testing.T) {
			err := domain.CheckOutcome(tt.kind, tt.outcome)
			if tt.ok && err != nil {
				t.Errorf("CheckOutcome = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, domain.ErrOutcomeNotAllowed) {
				t.Errorf("CheckOutcome = %v, want ErrOutcomeNotAllowed", err)
			}
		})
	}
}

func TestOpenCase(t *testing.T) {
	r := domain.Response{ResponseID: "r1", MemberID: "m1", Score: 3, Comment: "slow checkout", NPSClass: domain.NPSDetractor,
		Touchpoint: "PURCHASE", StoreID: "s1", SubmittedAt: t0}
	rule := domain.Rule{ID: 7, Version: 2, Kind: domain.KindCallback, Team: "customer-service", ResolutionSLA: 48 * time.Hour}
	now := t0.Add(time.Minute)
	c := domain.OpenCase("c1", r, rule, now)
	if c.Status != domain.StatusOpen || c.Kind != domain.KindCallback || c.Team != "customer-service" {
		t.Errorf("case = %+v", c)
	}
	if !c.OpenedAt.Equal(now) || !c.DueAt.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("opened %v due %v", c.OpenedAt, c.DueAt)
	}
	if c.Score != 3 || c.Comment != "slow checkout" || c.RuleID != 7 || c.RuleVersion != 2 {
		t.Errorf("case = %+v", c)
	}
	if c.Overdue(t0.Add(47*time.Hour)) || !c.Overdue(t0.Add(49*time.Hour)) {
		t.Error("overdue computed wrongly")
	}
}

func TestResolve(t *testing.T) {
	open := func(kind domain.CaseKind) domain.Case {
		return domain.Case{ID: "c", Kind: kind, Status: domain.StatusOpen}
	}
	resolved := open(domain.KindCallback)
	resolved.Status = domain.StatusResolved
	tests := []struct {
		name    string
		c       domain.Case
		outcome domain.Outcome
		wantErr error
	}{
		{"callback contacted", open(domain.KindCallback), domain.OutcomeContactedResolved, nil},
		{"referral given", open(domain.KindReferralRequest), domain.OutcomeReferralGiven, nil},
		{"referral outcome on callback", open(domain.KindCallback), domain.OutcomeReferralGiven, domain.ErrOutcomeNotAllowed},
		{"already resolved", resolved, domain.OutcomeUnreachable, domain.ErrAlreadyResolved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			at := t0.Add(time.Hour)
			err := c.Resolve(tt.outcome, "called", "alice", at)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Resolve = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if !reflect.DeepEqual(c, tt.c) {
					t.Errorf("a refused resolve changed the case: %+v", c)
				}
				return
			}
			if c.Status != domain.StatusResolved || c.Outcome != tt.outcome || c.ResolvedBy != "alice" ||
				c.ResolutionNote != "called" || !c.ResolvedAt.Equal(at) {
				t.Errorf("resolved case = %+v", c)
			}
		})
	}
}

func TestResponseNormalize(t *testing.T) {
	valid := func() domain.Response {
		return domain.Response{ResponseID: "r", Score: 3, SubmittedAt: t0}
	}
	tests := []struct {
		name      string
		edit      func(*domain.Response)
		wantClass domain.NPSClass
		wantErr   bool
	}{
		{"class derived from 3", func(*domain.Response) {}, domain.NPSDetractor, false},
		{"class derived from 6", func(r *domain.Response) { r.Score = 6 }, domain.NPSDetractor, false},
		{"class derived from 7", func(r *domain.Response) { r.Score = 7 }, domain.NPSPassive, false},
		{"class derived from 8", func(r *domain.Response) { r.Score = 8 }, domain.NPSPassive, false},
		{"class derived from 9", func(r *domain.Response) { r.Score = 9 }, domain.NPSPromoter, false},
		{"class given and consistent", func(r *domain.Response) { r.Score, r.NPSClass = 10, domain.NPSPromoter }, domain.NPSPromoter, false},
		{"class contradicts score", func(r *domain.Response) { r.NPSClass = domain.NPSPromoter }, "", true},
		{"score above 10", func(r *domain.Response) { r.Score = 11 }, "", true},
		{"negative score", func(r *domain.Response) { r.Score = -1 }, "", true},
		{"no response id", func(r *domain.Response) { r.ResponseID = "" }, "", true},
		{"no submitted_at", func(r *domain.Response) { r.SubmittedAt = time.Time{} }, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := valid()
			tt.edit(&r)
			err := r.Normalize()
			if tt.wantErr {
				if !errors.Is(err, domain.ErrInvalidResponse) {
					t.Errorf("Normalize = %v, want ErrInvalidResponse", err)
				}
				return
			}
			if err != nil || r.NPSClass != tt.wantClass {
				t.Errorf("Normalize = %v, class %q, want class %q", err, r.NPSClass, tt.wantClass)
			}
		})
	}
}

func TestComparePriority(t *testing.T) {
	rules := []domain.Rule{{ID: 3, Order: 20}, {ID: 2, Order: 10}, {ID: 1, Order: 20}}
	slices.SortFunc(rules, domain.ComparePriority)
	got := []int64{rules[0].ID, rules[1].ID, rules[2].ID}
	if got[0] != 2 || got[1] != 1 || got[2] != 3 {
		t.Errorf("order = %v, want [2 1 3]", got)
	}
}

func TestAnonymise(t *testing.T) {
	r := domain.Response{ResponseID: "r1", MemberID: "m1", SurveyID: "nps", Score: 3, Comment: "call me on 0171 555", NPSClass: domain.NPSDetractor,
		Touchpoint: "PURCHASE", StoreID: "s1", SubmittedAt: t0}
	c := domain.OpenCase("c1", r, domain.Rule{ID: 7, Version: 2, Kind: domain.KindCallback, Team: "customer-service", ResolutionSLA: 48 * time.Hour}, t0)
	if err := c.Resolve(domain.OutcomeContactedResolved, "promised Ms Smith a refund", "alice", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	kept := c
	at := t0.Add(2 * time.Hour)
	c.Anonymise(at)
	if c.MemberID != "" || c.Comment != "" || c.ResolutionNote != "" || !c.AnonymisedAt.Equal(at) {
		t.Errorf("anonymised case keeps personal data: %+v", c)
	}
	// What the case counts for stays.
	kept.MemberID, kept.Comment, kept.ResolutionNote, kept.AnonymisedAt = "", "", "", at
	if !reflect.DeepEqual(c, kept) {
		t.Errorf("anonymising changed more than personal data:\n got %+v\nwant %+v", c, kept)
	}

	r.Anonymise()
	if r.MemberID != "" || r.Comment != "" || r.Score != 3 || r.StoreID != "s1" || r.ResponseID != "r1" {
		t.Errorf("anonymised response = %+v", r)
	}
}

func TestResponseNormalizeKinds(t *testing.T) {
	tests := []struct {
		name          string
		r             domain.Response
		wantKind      domain.ScoreKind
		wantSatisfied bool
		wantLowEffort bool
		wantErr       string
	}{
		{name: "unspecified is NPS", r: domain.Response{Score: 9}, wantKind: domain.ScoreNPS},
		{name: "CSAT 4 satisfied", r: domain.Response{ScoreKind: domain.ScoreCSAT, Score: 4}, wantKind: domain.ScoreCSAT, wantSatisfied: true},
		{name: "CSAT 3 not satisfied", r: domain.Response{ScoreKind: domain.ScoreCSAT, Score: 3}, wantKind: domain.ScoreCSAT},
		{name: "CSAT 1", r: domain.Response{ScoreKind: domain.ScoreCSAT, Score: 1}, wantKind: domain.ScoreCSAT},
		{name: "CSAT 0", r: domain.Response{ScoreKind: domain.ScoreCSAT, Score: 0}, wantErr: "outside 1-5"},
		{name: "CSAT 6", r: domain.Response{ScoreKind: domain.ScoreCSAT, Score: 6}, wantErr: "outside 1-5"},
		{name: "CSAT with a class", r: domain.Response{ScoreKind: domain.ScoreCSAT, Score: 2, NPSClass: domain.NPSDetractor}, wantErr: "nps_class"},
		{name: "CSAT 2 said satisfied", r: domain.Response{ScoreKind: domain.ScoreCSAT, Score: 2, CSATSatisfied: true}, wantErr: "csat_satisfied"},
		{name: "CES 5 low effort", r: domain.Response{ScoreKind: domain.ScoreCES, Score: 5}, wantKind: domain.ScoreCES, wantLowEffort: true},
		{name: "CES 4", r: domain.Response{ScoreKind: domain.ScoreCES, Score: 4}, wantKind: domain.ScoreCES},
		{name: "CES 8", r: domain.Response{ScoreKind: domain.ScoreCES, Score: 8}, wantErr: "outside 1-7"},
		{name: "CES said satisfied", r: domain.Response{ScoreKind: domain.ScoreCES, Score: 6, CSATSatisfied: true}, wantErr: "csat_satisfied"},
		{name: "NPS said low effort", r: domain.Response{Score: 6, CESLowEffort: true}, wantErr: "ces_low_effort"},
		{name: "unknown kind", r: domain.Response{ScoreKind: "STARS", Score: 3}, wantErr: "unknown score kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			r.ResponseID, r.SubmittedAt = "r", t0
			err := r.Normalize()
			if tt.wantErr != "" {
				if !errors.Is(err, domain.ErrInvalidResponse) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Normalize = %v, want ErrInvalidResponse with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || r.ScoreKind != tt.wantKind || r.CSATSatisfied != tt.wantSatisfied || r.CESLowEffort != tt.wantLowEffort {
				t.Errorf("Normalize = %v, %+v", err, r)
			}
			if tt.wantKind != domain.ScoreNPS && r.NPSClass != "" {
				t.Errorf("a %s response got class %s", tt.wantKind, r.NPSClass)
			}
		})
	}
}

func TestFollowUpCaseID(t *testing.T) {
	id := "0192F0C8-5A1E-7000-8000-000000000004"
	if got, ok := domain.FollowUpCaseID("case:" + id); !ok || got != strings.ToLower(id) {
		t.Errorf("case:%s: %q, %v", id, got, ok)
	}
	for _, key := range []string{"", "case:", "case:42", "pos:S1:T1", "touchpoint:" + id, "case:" + id + "x", "CASE:" + id} {
		if got, ok := domain.FollowUpCaseID(key); ok {
			t.Errorf("%q names the case %q", key, got)
		}
	}
}

func TestFollowUpOf(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		r         domain.Response
		satisfied bool
		solved    string
	}{
		{domain.Response{ScoreKind: domain.ScoreCSAT, Score: 4, CSATSatisfied: true, Solved: "yes"}, true, "yes"},
		{domain.Response{ScoreKind: domain.ScoreCSAT, Score: 2, Solved: "no"}, false, "no"},
		{domain.Response{ScoreKind: domain.ScoreNPS, Score: 9, NPSClass: domain.NPSPromoter, Solved: "maybe"}, true, ""},
		{domain.Response{ScoreKind: domain.ScoreCES, Score: 6, CESLowEffort: true}, true, ""},
	} {
		tt.r.ResponseID, tt.r.SubmittedAt = "r1", at
		f := domain.FollowUpOf("c1", tt.r)
		if f.CaseID != "c1" || f.ResponseID != "r1" || f.Satisfied != tt.satisfied || f.Solved != tt.solved || !f.ReceivedAt.Equal(at) {
			t.Errorf("%+v: follow-up %+v", tt.r, f)
		}
	}
}
