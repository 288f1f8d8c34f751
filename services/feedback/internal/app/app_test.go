package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

var now = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

type fakeStore struct {
	rules  []domain.Rule
	opened []domain.Case
	erased []string
}

func (s *fakeStore) ActiveRules(context.Context) ([]domain.Rule, error) { return s.rules, nil }
func (s *fakeStore) OpenCases(_ context.Context, cases []domain.Case) (int, error) {
	s.opened = append(s.opened, cases...)
	return len(cases), nil
}
func (s *fakeStore) EraseMembers(_ context.Context, ids []string, _ time.Time) (int, error) {
	s.erased = append(s.erased, ids...)
	return len(ids), nil
}

// byClass matches the rule whose condition names the response's NPS class.
type byClass struct{ rules []domain.Rule }

func (c byClass) Compile(rules []domain.Rule) app.RuleMatcher { return byClass{rules} }
func (c byClass) Match(r domain.Response) (domain.Rule, bool) {
	for _, rule := range c.rules {
		if rule.Condition == string(r.NPSClass) {
			return rule, true
		}
	}
	return domain.Rule{}, false
}

type fakeCases struct {
	list   []domain.Case
	filter app.CaseFilter
}

func (f *fakeCases) Case(context.Context, string) (domain.Case, error) {
	return domain.Case{}, domain.ErrCaseNotFound
}
func (f *fakeCases) List(_ context.Context, filter app.CaseFilter) ([]domain.Case, error) {
	f.filter = filter
	return f.list[:min(filter.Limit, len(f.list))], nil
}
func (f *fakeCases) Resolve(context.Context, string, func(*domain.Case) error) (domain.Case, error) {
	return domain.Case{}, domain.ErrCaseNotFound
}

func newApp(t *testing.T, cases app.CaseRepository) *app.Application {
	t.Helper()
	n := 0
	a, err := app.New(app.Deps{
		Cases:  cases,
		Router: byClass{},
		Clock:  func() time.Time { return now },
		NewID:  func() string { n++; return string(rune('a' + n - 1)) },
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestNewRefusesMissingDependencies(t *testing.T) {
	if _, err := app.New(app.Deps{}); err == nil {
		t.Error("New accepted no dependencies")
	}
}

func TestRouteResponses(t *testing.T) {
	a := newApp(t, &fakeCases{})
	store := &fakeStore{rules: []domain.Rule{
		{ID: 1, Condition: "DETRACTOR", Kind: domain.KindCallback, Team: "customer-service", DueIn: 48 * time.Hour, Active: true, Version: 1},
		{ID: 2, Condition: "PROMOTER", Kind: domain.KindReferralRequest, Team: "marketing", DueIn: 168 * time.Hour, Active: true, Version: 1},
	}}
	submitted := now.Add(-time.Hour)
	responses := []domain.Response{
		{ResponseID: "r1", Score: 3, NPSClass: domain.NPSDetractor, SubmittedAt: submitted},
		{ResponseID: "r2", Score: 7, NPSClass: domain.NPSPassive, SubmittedAt: submitted},
		{ResponseID: "r3", Score: 10, NPSClass: domain.NPSPromoter, SubmittedAt: submitted},
		{ResponseID: "r1", Score: 3, NPSClass: domain.NPSDetractor, SubmittedAt: submitted},
	}
	n, err := a.RouteResponses.Handle(context.Background(), store, responses)
	if err != nil || n != 2 || len(store.opened) != 2 {
		t.Fatalf("opened %d (%v): %+v", n, err, store.opened)
	}
	cb, ref := store.opened[0], store.opened[1]
	if cb.ResponseID != "r1" || cb.Kind != domain.KindCallback || !cb.DueAt.Equal(submitted.Add(48*time.Hour)) || !cb.OpenedAt.Equal(now) {
		t.Errorf("callback = %+v", cb)
	}
	if ref.ResponseID != "r3" || ref.Team != "marketing" || !ref.DueAt.Equal(submitted.Add(168*time.Hour)) || cb.ID == ref.ID {
		t.Errorf("referral = %+v", ref)
	}
}

func TestListCasesPages(t *testing.T) {
	var list []domain.Case
	for i := range 5 {
		list = append(list, domain.Case{ID: string(rune('a' + i)), Status: domain.StatusOpen, OpenedAt: now.Add(-time.Duration(i) * time.Minute), DueAt: now.Add(-time.Second)})
	}
	repo := &fakeCases{list: list}
	a := newApp(t, repo)
	page, err := a.ListCases.Handle(context.Background(), app.ListCasesQuery{PageSize: 3, OnlyOverdue: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Cases) != 3 || page.Next == nil || page.Next.CaseID != "c" || !page.Next.OpenedAt.Equal(list[2].OpenedAt) {
		t.Errorf("page = %+v next %+v", page.Cases, page.Next)
	}
	if repo.filter.Limit != 4 || !repo.filter.OverdueAt.Equal(now) {
		t.Errorf("filter = %+v", repo.filter)
	}
	if !page.Cases[0].Overdue {
		t.Error("overdue not computed")
	}
	page, _ = a.ListCases.Handle(context.Background(), app.ListCasesQuery{PageSize: 5})
	if len(page.Cases) != 5 || page.Next != nil {
		t.Errorf("last page = %d cases, next %+v", len(page.Cases), page.Next)
	}
	if _, err := a.ListCases.Handle(context.Background(), app.ListCasesQuery{}); err != nil || repo.filter.Limit != app.DefaultPageSize+1 {
		t.Errorf("default limit = %d", repo.filter.Limit)
	}
}
