package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

var now = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// fakeStore keeps what the use cases store in memory; a transaction's changes are kept
// only if it commits.
type fakeStore struct {
	app.RoutingStore // the routing reads these tests do not use
	rules            []domain.Rule
	opened           []domain.Case
	erased           map[string]bool
	emitted          []domain.Event
	cases            map[string]domain.Case
	list             []domain.Case
	filter           app.CaseFilter

	app.OrgStore  // teams are tested on Postgres (service tests)
	app.HookStore // webhooks: not used by these tests
	app.GoodwillStore
}

func (s *fakeStore) InTx(ctx context.Context, fn func(context.Context, app.Tx) error) error {
	tx := &fakeTx{s: s}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	s.opened = append(s.opened, tx.opened...)
	s.emitted = append(s.emitted, tx.emitted...)
	for _, c := range tx.saved {
		s.cases[c.ID] = c
	}
	for _, id := range tx.erased {
		s.erased[id] = true
	}
	return nil
}

func (s *fakeStore) Case(_ context.Context, id string) (domain.Case, error) {
	c, ok := s.cases[id]
	if !ok {
		return domain.Case{}, domain.ErrCaseNotFound
	}
	return c, nil
}

func (s *fakeStore) CountOverdue(_ context.Context, at time.Time) (int64, error) {
	var n int64
	for _, c := range s.cases {
		if c.Overdue(at) {
			n++
		}
	}
	return n, nil
}

func (s *fakeStore) Cases(_ context.Context, f app.CaseFilter) ([]domain.Case, error) {
	s.filter = f
	return s.list[:min(f.Limit, len(s.list))], nil
}

func (s *fakeStore) MemberData(_ context.Context, id string) (domain.MemberData, error) {
	d := domain.MemberData{MemberID: id}
	for _, c := range s.cases {
		if c.MemberID == id {
			d.Cases = append(d.Cases, c)
		}
	}
	if s.erased[id] {
		d.ErasedAt = now
	}
	return d, nil
}

type fakeTx struct {
	app.RoutingTx // the routing writes these tests do not use
	s             *fakeStore
	opened        []domain.Case
	saved         []domain.Case
	erased        []string
	emitted       []domain.Event

	app.OrgTx  // teams are tested on Postgres (service tests)
	app.HookTx // webhooks: not used by these tests
	app.GoodwillTx
}

func (t *fakeTx) MemberTiers(context.Context, []string) (map[string]string, error) {
	return map[string]string{}, nil
}
func (t *fakeTx) StoreRegions(context.Context, []string) (map[string]domain.StoreRegion, error) {
	return map[string]domain.StoreRegion{}, nil
}
func (t *fakeTx) DefaultRoute(context.Context) (domain.DefaultRoute, error) {
	return domain.DefaultRoute{TaskType: domain.TaskNone}, nil
}
func (t *fakeTx) RecordRoutes(_ context.Context, routes []app.RoutedResponse) ([]string, error) {
	ids := make([]string, len(routes))
	for i, r := range routes {
		ids[i] = r.ResponseID
	}
	return ids, nil
}
func (t *fakeTx) ActiveRules(context.Context) ([]domain.Rule, error) { return t.s.rules, nil }
func (t *fakeTx) ErasedMembers(_ context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, id := range ids {
		if t.s.erased[id] {
			out[id] = true
		}
	}
	return out, nil
}
func (t *fakeTx) AddCases(_ context.Context, cases []domain.Case) ([]domain.Case, error) {
	t.opened = append(t.opened, cases...)
	return cases, nil
}
func (t *fakeTx) Case(ctx context.Context, id string) (domain.Case, error) { return t.s.Case(ctx, id) }
func (t *fakeTx) EraseMembers(_ context.Context, ids []string, _ time.Time) (int, error) {
	t.erased = append(t.erased, ids...)
	return len(ids), nil
}
func (t *fakeTx) Emit(_ context.Context, events ...domain.Event) error {
	t.emitted = append(t.emitted, events...)
	return nil
}

// byClass matches the rule whose condition names the response's NPS class.
type byClass struct{ rules []domain.Rule }

func (c byClass) Compile(rules []domain.Rule) app.RuleMatcher                     { return byClass{rules} }
func (c byClass) Check(string) error                                              { return nil }
func (c byClass) Explain(domain.Response, domain.RoutingFacts) []domain.RuleTrial { return nil }
func (c byClass) Match(r domain.Response, _ domain.RoutingFacts) (domain.Rule, bool) {
	for _, rule := range c.rules {
		if rule.Condition == string(r.NPSClass) {
			return rule, true
		}
	}
	return domain.Rule{}, false
}

func newStore() *fakeStore {
	return &fakeStore{erased: map[string]bool{}, cases: map[string]domain.Case{}, rules: []domain.Rule{
		{ID: 1, Condition: "DETRACTOR", Kind: domain.KindCallback, Team: "customer-service", ResolutionSLA: 48 * time.Hour, Active: true, Version: 1},
		{ID: 2, Condition: "PROMOTER", Kind: domain.KindReferralRequest, Team: "marketing", ResolutionSLA: 168 * time.Hour, Active: true, Version: 1},
	}}
}

func newApp(t *testing.T, store app.Store) *app.Application {
	t.Helper()
	n := 0
	a, err := app.New(app.Deps{
		Store: store,
		Rules: byClass{},
		Clock: func() time.Time { return now },
		NewID: func() string { n++; return string(rune('a' + n - 1)) },
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
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
	store := newStore()
	a := newApp(t, store)
	submitted := now.Add(-time.Hour)
	responses := []domain.Response{
		{ResponseID: "r1", Score: 3, NPSClass: domain.NPSDetractor, SubmittedAt: submitted},
		{ResponseID: "r2", Score: 7, NPSClass: domain.NPSPassive, SubmittedAt: submitted},
		{ResponseID: "r3", Score: 10, NPSClass: domain.NPSPromoter, SubmittedAt: submitted},
		{ResponseID: "r1", Score: 3, NPSClass: domain.NPSDetractor, SubmittedAt: submitted},
	}
	n, err := a.Commands.RouteResponses.Handle(context.Background(), responses)
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
	// The application, not the store, announces each case it opened, as its lifecycle
	// began (due times in the team's calendar: 24x7 without an organisation).
	cb, ref = store.cases[cb.ID], store.cases[ref.ID]
	if !cb.FirstContactDueAt.Equal(cb.DueAt) || cb.ResolutionSLA != 48*time.Hour {
		t.Errorf("callback's SLA = %+v", cb)
	}
	if len(store.emitted) != 2 || !reflect.DeepEqual(store.emitted[0], domain.Event(domain.CaseOpened{Case: cb})) || !reflect.DeepEqual(store.emitted[1], domain.Event(domain.CaseOpened{Case: ref})) {
		t.Errorf("emitted %+v", store.emitted)
	}
}

func TestRouteResponsesOfAnErasedMember(t *testing.T) {
	store := newStore()
	store.erased["gone"] = true
	a := newApp(t, store)
	responses := []domain.Response{
		{ResponseID: "r1", MemberID: "gone", Score: 2, Comment: "call me on 0171 555", SubmittedAt: now},
		{ResponseID: "r2", MemberID: "here", Score: 2, Comment: "slow", SubmittedAt: now},
	}
	if _, err := a.Commands.RouteResponses.Handle(context.Background(), responses); err != nil {
		t.Fatal(err)
	}
	gone, here := store.opened[0], store.opened[1]
	if gone.MemberID != "" || gone.Comment != "" || !gone.AnonymisedAt.Equal(now) || gone.Score != 2 || gone.Kind != domain.KindCallback {
		t.Errorf("case of an erased member = %+v", gone)
	}
	if here.MemberID != "here" || here.Comment != "slow" || !here.AnonymisedAt.IsZero() {
		t.Errorf("case of another member = %+v", here)
	}
}

func TestRouteResponsesRefusesAnInvalidResponse(t *testing.T) {
	store := newStore()
	a := newApp(t, store)
	_, err := a.Commands.RouteResponses.Handle(context.Background(), []domain.Response{
		{ResponseID: "r1", Score: 2, SubmittedAt: now},
		{ResponseID: "r2", Score: 2, NPSClass: domain.NPSPromoter, SubmittedAt: now},
	})
	if !errors.Is(err, domain.ErrInvalidResponse) {
		t.Errorf("err = %v, want ErrInvalidResponse", err)
	}
	if len(store.opened) != 0 || len(store.emitted) != 0 {
		t.Errorf("a refused batch stored %+v, emitted %+v", store.opened, store.emitted)
	}
}

func TestResolveCaseEmits(t *testing.T) {
	store := newStore()
	store.cases["c"] = domain.Case{ID: "c", Kind: domain.KindCallback, Status: domain.StatusOpen}
	a := newApp(t, store)
	v, err := a.Commands.ResolveCase.Handle(context.Background(), app.ResolveCaseCommand{CaseID: "c", Outcome: domain.OutcomeUnreachable, ResolvedBy: "alice"})
	if err != nil || v.Status != domain.StatusResolved || v.ResolvedBy != "alice" || !v.ResolvedAt.Equal(now) {
		t.Fatalf("resolved %+v, %v", v, err)
	}
	if len(store.emitted) != 1 || !reflect.DeepEqual(store.emitted[0], domain.Event(domain.CaseResolved{Case: v.Case})) {
		t.Errorf("emitted %+v", store.emitted)
	}
	_, err = a.Commands.ResolveCase.Handle(context.Background(), app.ResolveCaseCommand{CaseID: "c", Outcome: domain.OutcomeUnreachable})
	if !errors.Is(err, domain.ErrAlreadyResolved) || len(store.emitted) != 1 {
		t.Errorf("second resolve: %v, %d events", err, len(store.emitted))
	}
}

func TestExportMember(t *testing.T) {
	store := newStore()
	store.cases["c"] = domain.Case{ID: "c", MemberID: "m", Comment: "slow"}
	a := newApp(t, store)
	e, err := a.Queries.ExportMember.Handle(context.Background(), "m")
	if err != nil || e.MemberID != "m" || len(e.Cases) != 1 || e.Cases[0].Comment != "slow" || !e.ErasedAt.IsZero() {
		t.Errorf("export = %+v, %v", e, err)
	}
	if e, err := a.Queries.ExportMember.Handle(context.Background(), "unknown"); err != nil || len(e.Cases) != 0 || !e.ErasedAt.IsZero() {
		t.Errorf("export of an unknown member = %+v, %v", e, err)
	}
}

func TestListCasesPages(t *testing.T) {
	var list []domain.Case
	for i := range 5 {
		list = append(list, domain.Case{ID: string(rune('a' + i)), Status: domain.StatusOpen, OpenedAt: now.Add(-time.Duration(i) * time.Minute), DueAt: now.Add(-time.Second)})
	}
	repo := newStore()
	repo.list = list
	a := newApp(t, repo)
	page, err := a.Queries.ListCases.Handle(context.Background(), app.ListCasesQuery{PageSize: 3, OnlyOverdue: true})
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
	page, _ = a.Queries.ListCases.Handle(context.Background(), app.ListCasesQuery{PageSize: 5})
	if len(page.Cases) != 5 || page.Next != nil {
		t.Errorf("last page = %d cases, next %+v", len(page.Cases), page.Next)
	}
	if _, err := a.Queries.ListCases.Handle(context.Background(), app.ListCasesQuery{}); err != nil || repo.filter.Limit != app.DefaultPageSize+1 {
		t.Errorf("default limit = %d", repo.filter.Limit)
	}
}
