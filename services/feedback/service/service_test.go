package service_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/pkg/validate"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"

	"github.com/treue/treue/services/feedback/internal/ports/events"
	"github.com/treue/treue/services/feedback/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// API keys of the test callers; the key's name is what ResolveCase records.
const (
	keyAlice   = "key-alice"
	keyBob     = "key-bob"
	keyAdmin   = "key-admin"
	keyAuditor = "key-auditor"
	keyPOS     = "key-pos"
	keyPrivacy = "key-privacy"
	keyMarket  = "key-marketing"
)

var callers = []testkit.Caller{
	{Name: "alice", Role: "service_agent", Key: keyAlice},
	{Name: "bob", Role: "service_agent", Key: keyBob},
	{Name: "root", Role: "admin", Key: keyAdmin},
	{Name: "mia", Role: "marketing", Key: keyMarket},
	{Name: "audrey", Role: "auditor", Key: keyAuditor},
	{Name: "till-1", Role: "pos", Key: keyPOS},
	{Name: "petra", Role: "privacy", Key: keyPrivacy},
}

// env is one running feedback service in its own world.
type env struct {
	*testkit.Env
	t       *testing.T
	db      *testkit.DB
	client  feedbackv1.FeedbackServiceClient
	privacy privacyv1.PrivacyServiceClient
	addr    string
}

func start(t *testing.T) *env {
	t.Helper()
	e := testkit.NewEnv(t, callers...)
	cfg := service.Config{Base: e.Base()}
	cfg.Base.DBMaxConns = 8
	s := testkit.Start(t, service.New, cfg).Service
	conn := e.Conn(s.GRPCAddr(), "")
	return &env{Env: e, t: t, db: e.DB(service.Schema),
		client: feedbackv1.NewFeedbackServiceClient(conn), privacy: privacyv1.NewPrivacyServiceClient(conn), addr: s.GRPCAddr()}
}

func as(key string) context.Context {
	return grpcx.WithAPIKey(context.Background(), key)
}

type responseOpt func(*surveyv1.ResponseSubmitted)

func withMember(id string) responseOpt {
	return func(r *surveyv1.ResponseSubmitted) { r.MemberId = id }
}

func submittedAgo(d time.Duration) responseOpt {
	return func(r *surveyv1.ResponseSubmitted) {
		r.SubmittedAt = timestamppb.New(time.Now().Add(-d).Truncate(time.Microsecond))
	}
}

var npsClasses = map[int32]commonv1.NpsClass{
	0: commonv1.NpsClass_NPS_CLASS_DETRACTOR, 1: commonv1.NpsClass_NPS_CLASS_DETRACTOR, 2: commonv1.NpsClass_NPS_CLASS_DETRACTOR,
	3: commonv1.NpsClass_NPS_CLASS_DETRACTOR, 4: commonv1.NpsClass_NPS_CLASS_DETRACTOR, 5: commonv1.NpsClass_NPS_CLASS_DETRACTOR,
	6: commonv1.NpsClass_NPS_CLASS_DETRACTOR, 7: commonv1.NpsClass_NPS_CLASS_PASSIVE, 8: commonv1.NpsClass_NPS_CLASS_PASSIVE,
	9: commonv1.NpsClass_NPS_CLASS_PROMOTER, 10: commonv1.NpsClass_NPS_CLASS_PROMOTER,
}

func newResponse(score int32, opts ...responseOpt) *surveyv1.ResponseSubmitted {
	r := &surveyv1.ResponseSubmitted{
		ResponseId:   uuid.Must(uuid.NewV7()).String(),
		InvitationId: uuid.NewString(),
		SurveyId:     "nps-after-purchase",
		MemberId:     uuid.NewString(),
		Touchpoint:   commonv1.Touchpoint_TOUCHPOINT_PURCHASE,
		StoreId:      "store-17",
		Score:        score,
		Comment:      fmt.Sprintf("scored %d", score),
		NpsClass:     npsClasses[score],
		SubmittedAt:  timestamppb.New(time.Now().Truncate(time.Microsecond)),
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// publish sends msg on its subject, as its producer does.
func (e *env) publish(msg proto.Message) testkit.Sent {
	e.t.Helper()
	return e.PublishEvent("", msg)
}

func (e *env) submit(score int32, opts ...responseOpt) *surveyv1.ResponseSubmitted {
	e.t.Helper()
	r := newResponse(score, opts...)
	e.publish(r)
	return r
}

// allCases lists every case, page by page, as an admin.
func (e *env) allCases(req *feedbackv1.ListCasesRequest) []*feedbackv1.Case {
	e.t.Helper()
	req = proto.Clone(req).(*feedbackv1.ListCasesRequest)
	var out []*feedbackv1.Case
	for {
		resp, err := e.client.ListCases(as(keyAdmin), req)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, resp.GetCases()...)
		if resp.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// caseOf returns the case of response id, or nil.
func (e *env) caseOf(responseID string) *feedbackv1.Case {
	e.t.Helper()
	for _, c := range e.allCases(&feedbackv1.ListCasesRequest{PageSize: 500}) {
		if c.GetResponseId() == responseID {
			return c
		}
	}
	return nil
}

func (e *env) waitCase(responseID string) *feedbackv1.Case {
	e.t.Helper()
	var c *feedbackv1.Case
	testkit.Eventually(e.t, 10*time.Second, "case of response "+responseID, func() bool {
		c = e.caseOf(responseID)
		return c != nil
	})
	return c
}

func (e *env) opened() []*feedbackv1.CaseOpened {
	return testkit.Events[*feedbackv1.CaseOpened](e.Env, testkit.Subject(&feedbackv1.CaseOpened{}))
}

func (e *env) resolved() []*feedbackv1.CaseResolved {
	return testkit.Events[*feedbackv1.CaseResolved](e.Env, testkit.Subject(&feedbackv1.CaseResolved{}))
}

// badField returns the fields an InvalidArgument status names.
func badFields(err error) []string {
	var fields []string
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

func TestRoutingOpensOneCasePerResponse(t *testing.T) {
	t.Parallel()
	e := start(t)

	detractor := e.submit(3)
	promoter := e.submit(10)
	passive := e.submit(7)
	twice := e.submit(2)
	// The same response again, as a producer retrying after the duplicate window would
	// send it: a new event id, the same response.
	e.publish(twice)
	// Responses of one subject are handled in order: once the last has its case, every
	// earlier one has been handled.
	last := e.submit(0)
	e.waitCase(last.GetResponseId())

	c := e.caseOf(detractor.GetResponseId())
	if c == nil {
		t.Fatal("no case for the detractor")
	}
	if c.GetKind() != feedbackv1.CaseKind_CASE_KIND_CALLBACK || c.GetTeam() != "customer-service" ||
		c.GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_OPEN {
		t.Errorf("detractor case = %v", c)
	}
	if want := detractor.GetSubmittedAt().AsTime().Add(48 * time.Hour); !c.GetDueAt().AsTime().Equal(want) {
		t.Errorf("due at %v, want %v (48h after submission)", c.GetDueAt().AsTime(), want)
	}
	if c.GetScore() != 3 || c.GetComment() != "scored 3" || c.GetMemberId() != detractor.GetMemberId() ||
		c.GetStoreId() != "store-17" || c.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_PURCHASE ||
		c.GetNpsClass() != commonv1.NpsClass_NPS_CLASS_DETRACTOR || c.GetOverdue() {
		t.Errorf("detractor case = %v", c)
	}
	if d := time.Since(c.GetOpenedAt().AsTime()); d < 0 || d > time.Minute {
		t.Errorf("opened at %v", c.GetOpenedAt().AsTime())
	}

	p := e.caseOf(promoter.GetResponseId())
	if p == nil {
		t.Fatal("no case for the promoter")
	}
	if p.GetKind() != feedbackv1.CaseKind_CASE_KIND_REFERRAL_REQUEST || p.GetTeam() != "marketing" ||
		!p.GetDueAt().AsTime().Equal(promoter.GetSubmittedAt().AsTime().Add(7*24*time.Hour)) {
		t.Errorf("promoter case = %v", p)
	}
	if e.caseOf(passive.GetResponseId()) != nil {
		t.Error("a passive response opened a case")
	}

	var n int
	for _, c := range e.allCases(&feedbackv1.ListCasesRequest{}) {
		if c.GetResponseId() == twice.GetResponseId() {
			n++
		}
	}
	if n != 1 {
		t.Errorf("response delivered twice has %d cases, want 1", n)
	}

	// feedback.case.opened: once per case, with what reporting needs.
	var byResponse map[string][]*feedbackv1.CaseOpened
	testkit.Eventually(t, 10*time.Second, "CaseOpened for every case", func() bool {
		byResponse = map[string][]*feedbackv1.CaseOpened{}
		for _, ev := range e.opened() {
			byResponse[ev.GetResponseId()] = append(byResponse[ev.GetResponseId()], ev)
		}
		return len(byResponse) == 4
	})
	if got := byResponse[detractor.GetResponseId()]; len(got) != 1 || got[0].GetCaseId() != c.GetCaseId() ||
		got[0].GetKind() != feedbackv1.CaseKind_CASE_KIND_CALLBACK || got[0].GetTeam() != "customer-service" ||
		got[0].GetScore() != 3 || got[0].GetMemberId() != detractor.GetMemberId() ||
		!got[0].GetDueAt().AsTime().Equal(c.GetDueAt().AsTime()) || !got[0].GetOpenedAt().AsTime().Equal(c.GetOpenedAt().AsTime()) {
		t.Errorf("CaseOpened of the detractor = %v", got)
	}
	if got := byResponse[twice.GetResponseId()]; len(got) != 1 {
		t.Errorf("response delivered twice: %d CaseOpened events, want 1", len(got))
	}
	if _, ok := byResponse[passive.GetResponseId()]; ok {
		t.Error("CaseOpened for a passive response")
	}
}

func TestRulesAreData(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	// A rule that does not compile is skipped; a valid rule added at run time is used from
	// the next batch on, ahead of the seeded ones by its priority.
	_, err := e.db.Exec(ctx, `INSERT INTO routing_rules (name, priority, condition, case_kind, team, due_in) VALUES
		('broken', 1, 'response.score <=', 'CALLBACK', 'nobody', interval '1 hour'),
		('web-detractor', 10, 'response.touchpoint == "WEB_VISIT" && response.score <= 6', 'CALLBACK', 'web-team', interval '4 hours')`)
	if err != nil {
		t.Fatal(err)
	}
	web := e.submit(4, func(r *surveyv1.ResponseSubmitted) { r.Touchpoint = commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT })
	store := e.submit(4)
	c := e.waitCase(store.GetResponseId())
	if c.GetTeam() != "customer-service" {
		t.Errorf("store detractor went to %q", c.GetTeam())
	}
	w := e.caseOf(web.GetResponseId())
	if w == nil || w.GetTeam() != "web-team" || !w.GetDueAt().AsTime().Equal(web.GetSubmittedAt().AsTime().Add(4*time.Hour)) {
		t.Errorf("web detractor case = %v", w)
	}
	// Editing a rule bumps its version, so the cached compilation is replaced.
	if _, err := e.db.Exec(ctx, `UPDATE routing_rules SET condition = 'false' WHERE name = 'web-detractor'`); err != nil {
		t.Fatal(err)
	}
	var version int
	if err := e.db.QueryRow(ctx, `SELECT version FROM routing_rules WHERE name = 'web-detractor'`).Scan(&version); err != nil || version != 2 {
		t.Fatalf("version after edit = %d, %v; want 2", version, err)
	}
	web2 := e.submit(4, func(r *surveyv1.ResponseSubmitted) { r.Touchpoint = commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT })
	if c := e.waitCase(web2.GetResponseId()); c.GetTeam() != "customer-service" {
		t.Errorf("after the edit a web detractor went to %q", c.GetTeam())
	}
}

func TestListCases(t *testing.T) {
	t.Parallel()
	e := start(t)
	overdue := e.submit(1, submittedAgo(72*time.Hour))
	var detractors, promoters []*surveyv1.ResponseSubmitted
	for range 4 {
		detractors = append(detractors, e.submit(5))
		promoters = append(promoters, e.submit(9))
	}
	toResolve := e.submit(6)
	c := e.waitCase(toResolve.GetResponseId())
	if _, err := e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{
		CaseId: c.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
	}); err != nil {
		t.Fatal(err)
	}

	ids := func(cases []*feedbackv1.Case) []string {
		var out []string
		for _, c := range cases {
			out = append(out, c.GetResponseId())
		}
		slices.Sort(out)
		return out
	}
	responseIDs := func(rs ...*surveyv1.ResponseSubmitted) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.GetResponseId())
		}
		slices.Sort(out)
		return out
	}

	t.Run("team", func(t *testing.T) {
		got := e.allCases(&feedbackv1.ListCasesRequest{Team: "marketing"})
		if !slices.Equal(ids(got), responseIDs(promoters...)) {
			t.Errorf("marketing cases = %v, want %v", ids(got), responseIDs(promoters...))
		}
		got = e.allCases(&feedbackv1.ListCasesRequest{Team: "customer-service"})
		if want := responseIDs(append(detractors, overdue, toResolve)...); !slices.Equal(ids(got), want) {
			t.Errorf("customer-service cases = %v, want %v", ids(got), want)
		}
		if got := e.allCases(&feedbackv1.ListCasesRequest{Team: "nobody"}); len(got) != 0 {
			t.Errorf("unknown team has %d cases", len(got))
		}
	})
	t.Run("status", func(t *testing.T) {
		got := e.allCases(&feedbackv1.ListCasesRequest{Status: feedbackv1.CaseStatus_CASE_STATUS_RESOLVED})
		if len(got) != 1 || got[0].GetResponseId() != toResolve.GetResponseId() || got[0].GetResolvedBy() != "alice" {
			t.Errorf("resolved cases = %v", got)
		}
		got = e.allCases(&feedbackv1.ListCasesRequest{Status: feedbackv1.CaseStatus_CASE_STATUS_OPEN})
		if len(got) != 9 {
			t.Errorf("%d open cases, want 9", len(got))
		}
		for _, c := range got {
			if c.GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_OPEN {
				t.Errorf("open filter returned %v", c)
			}
		}
	})
	t.Run("overdue", func(t *testing.T) {
		got := e.allCases(&feedbackv1.ListCasesRequest{Overdue: true})
		if len(got) != 1 || got[0].GetResponseId() != overdue.GetResponseId() || !got[0].GetOverdue() {
			t.Fatalf("overdue cases = %v", got)
		}
		if want := overdue.GetSubmittedAt().AsTime().Add(48 * time.Hour); !got[0].GetDueAt().AsTime().Equal(want) {
			t.Errorf("overdue case due %v, want %v", got[0].GetDueAt().AsTime(), want)
		}
		if got := e.allCases(&feedbackv1.ListCasesRequest{Overdue: true, Team: "marketing"}); len(got) != 0 {
			t.Errorf("marketing has %d overdue cases", len(got))
		}
		for _, c := range e.allCases(&feedbackv1.ListCasesRequest{}) {
			if c.GetOverdue() != (c.GetResponseId() == overdue.GetResponseId()) {
				t.Errorf("case %s overdue = %v", c.GetResponseId(), c.GetOverdue())
			}
		}
	})
	t.Run("paging newest first", func(t *testing.T) {
		var (
			all   []*feedbackv1.Case
			token string
			pages int
		)
		for {
			resp, err := e.client.ListCases(as(keyAuditor), &feedbackv1.ListCasesRequest{PageSize: 3, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(resp.GetCases()) > 3 {
				t.Fatalf("page of %d cases, asked for 3", len(resp.GetCases()))
			}
			all = append(all, resp.GetCases()...)
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if len(all) != 10 || pages != 4 {
			t.Fatalf("%d cases in %d pages, want 10 in 4", len(all), pages)
		}
		seen := map[string]bool{}
		for i, c := range all {
			if seen[c.GetCaseId()] {
				t.Errorf("case %s listed twice", c.GetCaseId())
			}
			seen[c.GetCaseId()] = true
			if i > 0 {
				prev, cur := all[i-1], c
				if cur.GetOpenedAt().AsTime().After(prev.GetOpenedAt().AsTime()) ||
					(cur.GetOpenedAt().AsTime().Equal(prev.GetOpenedAt().AsTime()) && cur.GetCaseId() > prev.GetCaseId()) {
					t.Errorf("case %d is newer than case %d", i, i-1)
				}
			}
		}
		// The last case opened is the first listed.
		if all[0].GetResponseId() != toResolve.GetResponseId() {
			t.Errorf("first listed = response %s, want the last submitted %s", all[0].GetResponseId(), toResolve.GetResponseId())
		}
	})
	t.Run("bad page token", func(t *testing.T) {
		_, err := e.client.ListCases(as(keyAdmin), &feedbackv1.ListCasesRequest{PageToken: "not-a-token"})
		testkit.WantCode(t, err, codes.InvalidArgument)
		if f := badFields(err); !slices.Equal(f, []string{"page_token"}) {
			t.Errorf("fields = %v, want page_token", f)
		}
	})
}

func TestGetCase(t *testing.T) {
	t.Parallel()
	e := start(t)
	r := e.submit(2)
	listed := e.waitCase(r.GetResponseId())
	got, err := e.client.GetCase(as(keyAuditor), &feedbackv1.GetCaseRequest{CaseId: listed.GetCaseId()})
	if err != nil {
		t.Fatal(err)
	}
	// GetCase adds the history (and notes) to what the listing shows.
	if h := got.GetCase().GetHistory(); len(h) != 1 || h[0].GetAction() != "open" {
		t.Errorf("history of a new case: %v", h)
	}
	if !proto.Equal(withoutHistory(got.GetCase()), listed) {
		t.Errorf("GetCase = %v, want %v", got.GetCase(), listed)
	}
	_, err = e.client.GetCase(as(keyAdmin), &feedbackv1.GetCaseRequest{CaseId: uuid.NewString()})
	testkit.WantCode(t, err, codes.NotFound)
}

func TestResolveCase(t *testing.T) {
	t.Parallel()
	e := start(t)
	callback := e.submit(4, submittedAgo(time.Hour))
	referral := e.submit(10)
	contested := e.submit(1)
	cb := e.waitCase(callback.GetResponseId())
	e.waitCase(contested.GetResponseId())
	ref := e.caseOf(referral.GetResponseId())

	t.Run("outcome must fit the kind", func(t *testing.T) {
		_, err := e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{
			CaseId: cb.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_REFERRAL_GIVEN,
		})
		testkit.WantCode(t, err, codes.InvalidArgument)
		if f := badFields(err); !slices.Equal(f, []string{"outcome"}) {
			t.Errorf("fields = %v, want outcome", f)
		}
		_, err = e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{
			CaseId: ref.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_UNREACHABLE,
		})
		testkit.WantCode(t, err, codes.InvalidArgument)
	})

	t.Run("resolve records the outcome and announces it", func(t *testing.T) {
		resp, err := e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{
			CaseId: cb.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED, Note: "refund issued",
		})
		if err != nil {
			t.Fatal(err)
		}
		got := resp.GetCase()
		if got.GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_RESOLVED || got.GetOutcome() != feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED ||
			got.GetResolvedBy() != "alice" || got.GetResolutionNote() != "refund issued" || got.GetResolvedAt() == nil || got.GetOverdue() {
			t.Errorf("resolved case = %v", got)
		}
		stored, err := e.client.GetCase(as(keyAdmin), &feedbackv1.GetCaseRequest{CaseId: cb.GetCaseId()})
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(withoutHistory(stored.GetCase()), got) {
			t.Errorf("stored %v, returned %v", stored.GetCase(), got)
		}

		var evs []*feedbackv1.CaseResolved
		testkit.Eventually(t, 10*time.Second, "CaseResolved", func() bool {
			evs = e.resolved()
			return len(evs) > 0
		})
		ev := evs[0]
		if ev.GetCaseId() != cb.GetCaseId() || ev.GetKind() != feedbackv1.CaseKind_CASE_KIND_CALLBACK || ev.GetTeam() != "customer-service" ||
			ev.GetOutcome() != feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED || ev.GetResolvedBy() != "alice" ||
			!ev.GetOpenedAt().AsTime().Equal(cb.GetOpenedAt().AsTime()) || !ev.GetDueAt().AsTime().Equal(cb.GetDueAt().AsTime()) ||
			!ev.GetResolvedAt().AsTime().Equal(got.GetResolvedAt().AsTime()) {
			t.Errorf("CaseResolved = %v", ev)
		}

		_, err = e.client.ResolveCase(as(keyBob), &feedbackv1.ResolveCaseRequest{
			CaseId: cb.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_UNREACHABLE,
		})
		testkit.WantCode(t, err, codes.FailedPrecondition)
		if r := grpcx.Reason(err); r != "ALREADY_RESOLVED" {
			t.Errorf("reason = %q, want ALREADY_RESOLVED", r)
		}
	})

	t.Run("referral by marketing", func(t *testing.T) {
		resp, err := e.client.ResolveCase(as("key-marketing"), &feedbackv1.ResolveCaseRequest{
			CaseId: ref.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_REFERRAL_GIVEN,
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetCase().GetResolvedBy() != "mia" {
			t.Errorf("resolved by %q, want mia", resp.GetCase().GetResolvedBy())
		}
	})

	t.Run("concurrent resolves: exactly one wins", func(t *testing.T) {
		c := e.caseOf(contested.GetResponseId())
		const agents = 8
		var (
			wg   sync.WaitGroup
			errs = make([]error, agents)
			gate = make(chan struct{})
		)
		for i := range agents {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := keyAlice
				if i%2 == 1 {
					key = keyBob
				}
				<-gate
				_, errs[i] = e.client.ResolveCase(as(key), &feedbackv1.ResolveCaseRequest{
					CaseId: c.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_UNREACHABLE, Note: fmt.Sprint("agent ", i),
				})
			}()
		}
		close(gate)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case grpcx.Reason(err) != "ALREADY_RESOLVED":
				t.Errorf("a losing resolve got %v, want ALREADY_RESOLVED", err)
			}
		}
		if won != 1 {
			t.Errorf("%d resolves won, want exactly 1", won)
		}
		testkit.Eventually(t, 10*time.Second, "every CaseResolved published", func() bool { return len(e.resolved()) >= 3 })
		n := 0
		for _, ev := range e.resolved() {
			if ev.GetCaseId() == c.GetCaseId() {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d CaseResolved events for the contested case, want 1", n)
		}
	})

	t.Run("unknown case", func(t *testing.T) {
		_, err := e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{
			CaseId: uuid.NewString(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_NO_ACTION_NEEDED,
		})
		testkit.WantCode(t, err, codes.NotFound)
	})
}

// TestAuthAndValidation: every method refuses a malformed request naming the field, a
// caller without a key, and a caller without a role the method allows.
func TestAuthAndValidation(t *testing.T) {
	t.Parallel()
	e := start(t)
	id := uuid.NewString()
	type call func(ctx context.Context) error
	methods := []struct {
		name      string
		valid     call
		malformed call
		field     string
		denied    []string // keys whose roles the method does not allow
	}{
		{
			name: "ListCases",
			valid: func(ctx context.Context) error {
				_, err := e.client.ListCases(ctx, &feedbackv1.ListCasesRequest{})
				return err
			},
			malformed: func(ctx context.Context) error {
				_, err := e.client.ListCases(ctx, &feedbackv1.ListCasesRequest{PageSize: 501})
				return err
			},
			field:  "page_size",
			denied: []string{keyPOS},
		},
		{
			name: "GetCase",
			valid: func(ctx context.Context) error {
				_, err := e.client.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: id})
				return err
			},
			malformed: func(ctx context.Context) error {
				_, err := e.client.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: "case-1"})
				return err
			},
			field:  "case_id",
			denied: []string{keyPOS},
		},
		{
			name: "ResolveCase",
			valid: func(ctx context.Context) error {
				_, err := e.client.ResolveCase(ctx, &feedbackv1.ResolveCaseRequest{CaseId: id, Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_NO_ACTION_NEEDED})
				return err
			},
			malformed: func(ctx context.Context) error {
				_, err := e.client.ResolveCase(ctx, &feedbackv1.ResolveCaseRequest{CaseId: id})
				return err
			},
			field:  "outcome",
			denied: []string{keyPOS, keyAuditor},
		},
		{
			name: "ExportMember",
			valid: func(ctx context.Context) error {
				_, err := e.privacy.ExportMember(ctx, &privacyv1.ExportMemberRequest{MemberId: id})
				return err
			},
			malformed: func(ctx context.Context) error {
				_, err := e.privacy.ExportMember(ctx, &privacyv1.ExportMemberRequest{})
				return err
			},
			field:  "member_id",
			denied: []string{keyPOS, keyAuditor, keyAlice, keyMarket},
		},
	}
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			err := m.malformed(as(keyAdmin))
			testkit.WantCode(t, err, codes.InvalidArgument)
			if f := badFields(err); !slices.Contains(f, m.field) || !strings.Contains(status.Convert(err).Message(), m.field) {
				t.Errorf("fields = %v, message %q; want %s named", f, status.Convert(err).Message(), m.field)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			testkit.WantCode(t, m.valid(ctx), codes.Unauthenticated)
			testkit.WantCode(t, m.valid(as("key-unknown")), codes.Unauthenticated)
			for _, key := range m.denied {
				testkit.WantCode(t, m.valid(as(key)), codes.PermissionDenied)
			}
			// Allowed roles get past authorisation (to NotFound, for the unknown id).
			if err := m.valid(as(keyAdmin)); err != nil && status.Code(err) != codes.NotFound {
				t.Errorf("admin: %v", err)
			}
		})
	}
}

func TestMalformedEventsGoToDeadLetters(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()

	responses := bus.MustSpec(&surveyv1.ResponseSubmitted{}).Subject
	erasures := bus.MustSpec(&ledgerv1.MemberErased{}).Subject
	e.PublishRaw(testkit.Raw{Subject: responses, ContentType: bus.ContentTypeProto,
		Type: string(bus.MustSpec(&surveyv1.ResponseSubmitted{}).Type), Data: []byte{0xff, 0xff, 0xff, 0xff}})
	invalid := newResponse(3)
	invalid.Score = 42
	e.publish(invalid)
	// Valid by the contract, refused by the domain: a class that contradicts the score.
	contradicts := newResponse(3)
	contradicts.NpsClass = commonv1.NpsClass_NPS_CLASS_PROMOTER
	e.publish(contradicts)
	e.PublishRaw(testkit.Raw{Subject: erasures, ContentType: bus.ContentTypeProto,
		Type: string(bus.MustSpec(&ledgerv1.MemberErased{}).Type), Data: []byte{0x0a, 0x05}})
	e.publish(&ledgerv1.MemberErased{ErasedAt: timestamppb.Now()})
	// A response id is whatever string the contract allows, not necessarily a UUID.
	notUUID := newResponse(3)
	notUUID.ResponseId = "resp-1"
	e.publish(notUUID)
	good := e.submit(3)

	e.waitCase(good.GetResponseId())
	if c := e.caseOf(notUUID.GetResponseId()); c == nil || c.GetScore() != 3 {
		t.Errorf("case of response resp-1 = %v", c)
	}
	type letter struct{ consumer, subject, err string }
	var letters []letter
	// The malformed erasures are refused by both consumers of the ledger's stream: the
	// erasure and the referral codes. (The webhooks' consumers dead-letter what breaks the
	// contract too: see below.)
	testkit.Eventually(t, 10*time.Second, "seven dead letters", func() bool {
		rows, err := e.db.Query(ctx, `SELECT consumer, subject, error FROM dead_letters
			WHERE consumer = ANY($1) ORDER BY stream, stream_seq, consumer`,
			[]string{events.ConsumerSurvey, events.ConsumerMembers, events.ConsumerReferralCodes})
		if err != nil {
			t.Fatal(err)
		}
		letters = letters[:0]
		for rows.Next() {
			var l letter
			if err := rows.Scan(&l.consumer, &l.subject, &l.err); err != nil {
				t.Fatal(err)
			}
			letters = append(letters, l)
		}
		return rows.Err() == nil && len(letters) == 7
	})
	want := []struct{ consumer, errPart string }{
		{events.ConsumerMembers, "decode " + erasures},
		{events.ConsumerReferralCodes, "decode " + erasures},
		{events.ConsumerMembers, "member_id: "},
		{events.ConsumerReferralCodes, "member_id: "},
		{events.ConsumerSurvey, "decode " + responses},
		{events.ConsumerSurvey, "score: "},
		{events.ConsumerSurvey, "nps_class PROMOTER does not match score 3"},
	}
	for i, w := range want {
		if letters[i].consumer != w.consumer || !strings.Contains(letters[i].err, w.errPart) {
			t.Errorf("dead letter %d = %+v, want %s with %q", i, letters[i], w.consumer, w.errPart)
		}
	}

	// The webhooks' consumers refuse what breaks the contract, and take the response the
	// routing refuses (it is a valid event).
	testkit.Eventually(t, 10*time.Second, "four dead letters of the webhooks' consumers", func() bool {
		return e.db.Count(`SELECT count(*) FROM dead_letters WHERE consumer = ANY($1)`,
			[]string{events.ConsumerWebhooksSurvey, events.ConsumerWebhooksMembers}) == 4
	})

	// The consumers go on: the next erasure is applied.
	e.publish(&ledgerv1.MemberErased{MemberId: good.GetMemberId(), ErasedAt: timestamppb.Now()})
	testkit.Eventually(t, 10*time.Second, "erasure after a dead letter", func() bool {
		return e.caseOf(good.GetResponseId()).GetMemberId() == ""
	})
}

// memberCases are a member's responses, one a call-back resolved with a note, the other
// a referral request still open, and another member's response, each with its case.
type memberCases struct {
	member, other              string
	callback, referral, others *surveyv1.ResponseSubmitted
	resolved                   *feedbackv1.Case // the call-back's
}

func (e *env) memberWithCases() memberCases {
	e.t.Helper()
	m := memberCases{member: uuid.NewString(), other: uuid.NewString()}
	m.callback, m.referral = e.submit(2, withMember(m.member)), e.submit(10, withMember(m.member))
	m.others = e.submit(1, withMember(m.other))
	for _, r := range []*surveyv1.ResponseSubmitted{m.callback, m.referral, m.others} {
		e.waitCase(r.GetResponseId())
	}
	resp, err := e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{
		CaseId: e.caseOf(m.callback.GetResponseId()).GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_UNRESOLVED,
		Note: "customer wants a refund",
	})
	if err != nil {
		e.t.Fatal(err)
	}
	m.resolved = resp.GetCase()
	return m
}

func TestErasureAnonymisesCases(t *testing.T) {
	t.Parallel()
	e := start(t)
	m := e.memberWithCases()
	member, other, first, second, kept, c1 := m.member, m.other, m.callback, m.referral, m.others, m.resolved
	// An agent's note about the member goes too.
	if _, err := e.client.AddNote(as(keyAdmin), &feedbackv1.AddNoteRequest{
		CaseId: e.caseOf(second.GetResponseId()).GetCaseId(), Text: "called at home, wife answered"}); err != nil {
		t.Fatal(err)
	}

	// A goodwill coupon still to be asked for (this service has no rewards service).
	if _, err := e.db.Exec(context.Background(), `INSERT INTO goodwill_grants (case_id, member_id, points, reward_id, reason, granted_by,
		granted_at, reward_status, next_attempt_at) VALUES ($1, $2, 0, $3, 'sorry for the rude call', 'lead', now(), 'pending', now())`,
		c1.GetCaseId(), member, uuid.NewString()); err != nil {
		t.Fatal(err)
	}

	e.publish(&ledgerv1.MemberErased{MemberId: member, ErasedAt: timestamppb.Now()})
	testkit.Eventually(t, 10*time.Second, "cases anonymised", func() bool {
		return e.caseOf(first.GetResponseId()).GetMemberId() == "" && e.caseOf(second.GetResponseId()).GetMemberId() == ""
	})
	a1, a2 := e.caseOf(first.GetResponseId()), e.caseOf(second.GetResponseId())
	for _, c := range []*feedbackv1.Case{a1, a2} {
		if c.GetComment() != "" || c.GetResolutionNote() != "" {
			t.Errorf("anonymised case keeps text: %v", c)
		}
	}
	if a1.GetScore() != 2 || a1.GetKind() != feedbackv1.CaseKind_CASE_KIND_CALLBACK || a1.GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_RESOLVED ||
		!a1.GetOpenedAt().AsTime().Equal(c1.GetOpenedAt().AsTime()) || !a1.GetDueAt().AsTime().Equal(c1.GetDueAt().AsTime()) ||
		a1.GetResolvedAt() == nil || a1.GetOutcome() != feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_UNRESOLVED {
		t.Errorf("anonymisation lost figures: %v", a1)
	}
	if k := e.caseOf(kept.GetResponseId()); k.GetMemberId() != other || k.GetComment() != "scored 1" {
		t.Errorf("another member's case changed: %v", k)
	}

	// A response of the erased member that arrives after the erasure opens its case
	// without personal data.
	late := e.submit(0, withMember(member))
	l := e.waitCase(late.GetResponseId())
	if l.GetMemberId() != "" || l.GetComment() != "" || l.GetScore() != 0 {
		t.Errorf("late case of an erased member = %v", l)
	}
	testkit.Eventually(t, 10*time.Second, "CaseOpened of the late case", func() bool {
		for _, ev := range e.opened() {
			if ev.GetResponseId() == late.GetResponseId() {
				if ev.GetMemberId() != "" {
					t.Errorf("CaseOpened names the erased member")
				}
				return true
			}
		}
		return false
	})
	// Every CaseOpened, the late one without a member too, keeps the contract, so that
	// its consumers count it.
	v, err := validate.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range e.opened() {
		if err := v.Validate(ev); err != nil {
			t.Errorf("CaseOpened %v breaks the contract: %v", ev, err)
		}
	}
	// Nothing in the cases, their history or their notes names the member or quotes them
	// or what was written about them: no column of any row.
	for _, trace := range []string{member, "scored 2", "scored 10", "scored 0", "customer wants a refund", "wife answered", "rude call"} {
		for _, table := range []string{"cases", "case_history", "case_notes", "goodwill_grants"} {
			if n := e.db.Count(`SELECT count(*) FROM `+table+` c WHERE strpos(c::text, $1) > 0`, trace); n != 0 {
				t.Errorf("%d rows of %s still hold %q", n, table, trace)
			}
		}
	}
	// The coupon not yet asked for is not asked for any more.
	if n := e.db.Count(`SELECT count(*) FROM goodwill_grants WHERE case_id = $1 AND reward_status = 'refused' AND reward_error = 'the member was erased'`,
		c1.GetCaseId()); n != 1 {
		t.Errorf("the erased member's pending coupon is not stopped")
	}
}

// The service stops cleanly and starts again on the same database and streams, keeping
// what it stored.
func TestRestart(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("restart")
	}
	e := testkit.NewEnv(t)
	for range 2 {
		s := testkit.Start(t, service.New, service.Config{Base: e.Base()})
		if err := s.Stop(); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
}
