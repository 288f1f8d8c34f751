package service_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/pkg/testkit/browser"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	"github.com/treue/treue/services/feedback/service"
)

func inboxSignIn(ctx context.Context, t *testing.T, base, user, password string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SetValue(chromedp.CSS(`#username`), user),
		chromedp.SetValue(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#login`)),
		chromedp.WaitVisible(chromedp.CSS(`#counts`)),
	); err != nil {
		t.Fatalf("signing in as %s: %v", user, err)
	}
}

// TestAgentInboxInTheBrowser: an agent of customer-service signs in in a real headless
// Chromium, finds the detractor's case in the team's queue, acknowledges it, adds a note
// and resolves it, and the case leaves the queue; an agent of another team neither sees
// it nor opens it; a form without the CSRF token is refused.
func TestAgentInboxInTheBrowser(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	e, base := startInbox(t, clk.Now)
	admin := as(keyAdmin)

	cs, err := e.teams.GetTeam(admin, &feedbackv1.GetTeamRequest{Team: "customer-service"})
	if err != nil {
		t.Fatal(err)
	}
	billing, err := e.teams.CreateTeam(admin, &feedbackv1.CreateTeamRequest{IdempotencyKey: "create-billing", Key: "billing", Name: "Billing"})
	if err != nil {
		t.Fatal(err)
	}
	addStaff := func(teamID, name, email string) *feedbackv1.Staff {
		resp, err := e.teams.AddStaff(admin, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-staff-" + name, TeamId: teamID,
			Name: name, Email: email, Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetStaff()
	}
	annStaff := addStaff(cs.GetTeam().GetTeamId(), "Ann", "ann@shop.example")
	ben := addStaff(cs.GetTeam().GetTeamId(), "Ben", "ben@shop.example")
	addStaff(billing.GetTeam().GetTeamId(), "Eve", "eve@shop.example")
	accounts, err := staff.Open(testkit.Ctx(t), staff.Config{DatabaseURL: e.DatabaseURL()}, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ann@shop.example", "eve@shop.example"} {
		if _, err := accounts.Create(testkit.Ctx(t), u, []string{"service_agent"}, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
	}
	accounts.Close()

	r := newResponse(2)
	r.Comment = "The cashier was rude <script>alert(1)</script>"
	e.publish(r)
	c := e.waitCase(r.GetResponseId())
	id := c.GetCaseId()

	ann := browser.New(t, browser.DesktopWidth, browser.DesktopHeight)
	inboxSignIn(ann, t, base, "ann@shop.example", "correct horse battery")
	t.Run("the case is in the team's queue", func(t *testing.T) {
		if got := browser.Text(t, ann, `tr[data-id="`+id+`"] .status`); got != "open" {
			t.Errorf("queue row status %q, want open", got)
		}
		browser.Screenshot(t, ann, "inbox", "queue")
	})

	t.Run("open, acknowledge, note, resolve", func(t *testing.T) {
		browser.Submit(t, ann, `tr[data-id="`+id+`"] a`)
		if err := chromedp.Do(ann, chromedp.WaitVisible(chromedp.CSS(`#case`))); err != nil {
			t.Fatal(err)
		}
		if got := browser.Text(t, ann, "#comment"); got != r.Comment {
			t.Errorf("comment shown %q, want %q", got, r.Comment)
		}
		browser.Submit(t, ann, `#ack-form button`)
		if err := chromedp.Do(ann, chromedp.WaitVisible(chromedp.CSS(`#status`))); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 10*time.Second, "acknowledged", func() bool { return browser.Text(t, ann, "#status") == "acknowledged" })
		if err := chromedp.Do(ann,
			chromedp.SetValue(chromedp.CSS(`#note-text`), "Called back, offered a voucher"),
		); err != nil {
			t.Fatal(err)
		}
		browser.Submit(t, ann, `#note-form button`)
		testkit.Eventually(t, 10*time.Second, "the note on the page", func() bool {
			return strings.Contains(browser.Text(t, ann, "#notes"), "Called back, offered a voucher")
		})
		browser.Screenshot(t, ann, "inbox", "case")
		if err := chromedp.Do(ann,
			chromedp.SetValue(chromedp.CSS(`#outcome-select`), "CONTACTED_RESOLVED"),
			chromedp.SetValue(chromedp.CSS(`#resolve-note`), "Apologised"),
		); err != nil {
			t.Fatal(err)
		}
		browser.Submit(t, ann, `#resolve-form button`)
		if err := chromedp.Do(ann, chromedp.WaitVisible(chromedp.CSS(`#counts`))); err != nil {
			t.Fatal(err)
		}
		rows, err := chromedp.Run(ann, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-id="`+id+`"]').length`))
		if err != nil {
			t.Fatal(err)
		}
		if rows != 0 {
			t.Errorf("the resolved case is still in the queue")
		}
		browser.Screenshot(t, ann, "inbox", "queue-after")
		got, err := e.client.GetCase(admin, &feedbackv1.GetCaseRequest{CaseId: id})
		if err != nil {
			t.Fatal(err)
		}
		if got.GetCase().GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_RESOLVED {
			t.Errorf("status %s, want resolved", got.GetCase().GetStatus())
		}
		if n := got.GetCase().GetNotes(); len(n) != 1 || n[0].GetText() != "Called back, offered a voucher" || n[0].GetBy() != "ann@shop.example" {
			t.Errorf("notes %v", n)
		}
		if a := historyActions(got.GetCase()); !strings.Contains(strings.Join(a, ","), "acknowledge") || a[len(a)-1] != "resolve" {
			t.Errorf("history %v, want acknowledge then resolve", a)
		}
	})

	t.Run("an agent of another team neither sees nor opens it", func(t *testing.T) {
		r2 := newResponse(1)
		e.publish(r2)
		id2 := e.waitCase(r2.GetResponseId()).GetCaseId()
		eve := browser.New(t, browser.DesktopWidth, browser.DesktopHeight)
		inboxSignIn(eve, t, base, "eve@shop.example", "correct horse battery")
		rows, err := chromedp.Run(eve, chromedp.Evaluate[int](`document.querySelectorAll('tr.case').length`))
		if err != nil {
			t.Fatal(err)
		}
		if rows != 0 {
			t.Errorf("billing's queue shows %d case(s) of customer-service", rows)
		}
		if err := chromedp.Do(eve, chromedp.Navigate(base+"/cases/"+id2), chromedp.WaitVisible(chromedp.CSS(`#notfound`))); err != nil {
			t.Fatal(err)
		}
		browser.Screenshot(t, eve, "inbox", "other-team-404")
		// The same with plain HTTP, to read the status code.
		cookie := httpSignIn(t, base, "eve@shop.example")
		req, _ := http.NewRequestWithContext(testkit.Ctx(t), http.MethodGet, base+"/cases/"+id2, nil)
		req.AddCookie(cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("another team's case answered %s, want 404", resp.Status)
		}
	})

	t.Run("an overdue case is marked in text; reassign and assigned to me", func(t *testing.T) {
		r4 := newResponse(4)
		e.publish(r4)
		id4 := e.waitCase(r4.GetResponseId()).GetCaseId()
		row := `tr[data-id="` + id4 + `"]`
		if err := chromedp.Do(ann, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(row))); err != nil {
			t.Fatal(err)
		}
		if got := browser.Text(t, ann, row+" td"); strings.Contains(got, "OVERDUE") {
			t.Fatalf("a fresh case is marked overdue: %q", got)
		}
		clk.Set(time.Now().Add(30 * 24 * time.Hour))
		if err := chromedp.Do(ann, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(row))); err != nil {
			t.Fatal(err)
		}
		if got := browser.Text(t, ann, row+" td"); !strings.HasPrefix(got, "OVERDUE") {
			t.Errorf("a case past its deadline shows %q, want OVERDUE first", got)
		}
		// Every open case of the team is past its deadline now (the other team's test's too).
		overdue, err := chromedp.Run(ann, chromedp.Evaluate[int](`document.querySelectorAll('tr.case.overdue').length`))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := browser.Text(t, ann, "#counts"), fmt.Sprintf("%d case(s), %d overdue.", overdue, overdue); overdue < 1 || got != want {
			t.Errorf("counts %q, want %q", got, want)
		}
		browser.Screenshot(t, ann, "inbox", "queue-overdue")

		// Reassign it between Ann and Ben: "assigned to me" shows it only while it is Ann's.
		mine := func() int {
			if err := chromedp.Do(ann, chromedp.Navigate(base+"/?mine=1"), chromedp.WaitVisible(chromedp.CSS("#counts"))); err != nil {
				t.Fatal(err)
			}
			n, err := chromedp.Run(ann, chromedp.Evaluate[int](`document.querySelectorAll('`+row+`').length`))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		order := []*feedbackv1.Staff{annStaff, ben}
		if e.waitCase(r4.GetResponseId()).GetAssignee() == annStaff.GetStaffId() {
			order = []*feedbackv1.Staff{ben, annStaff} // a reassignment must change the assignee
		}
		for _, to := range order {
			if err := chromedp.Do(ann, chromedp.Navigate(base+"/cases/"+id4), chromedp.WaitVisible(chromedp.CSS(`#reassign-form`))); err != nil {
				t.Fatal(err)
			}
			// The page after the POST has one more reassignment in its history: wait for
			// it, not for the name (the case may be Ann's already).
			before := strings.Count(browser.Text(t, ann, "#history"), "reassign")
			if err := chromedp.Do(ann,
				chromedp.SetValue(chromedp.CSS(`#reassign-to`), to.GetStaffId()),
			); err != nil {
				t.Fatal(err)
			}
			browser.Submit(t, ann, `#reassign-form button`)
			testkit.Eventually(t, 10*time.Second, "reassigned to "+to.GetName(), func() bool {
				return strings.Count(browser.Text(t, ann, "#history"), "reassign") > before
			})
			if got := browser.Text(t, ann, "#assignee"); got != to.GetName() {
				t.Errorf("assignee shown %q, want %q", got, to.GetName())
			}
			if n, want := mine(), map[bool]int{true: 1, false: 0}[to == annStaff]; n != want {
				t.Errorf("assigned to %s, Ann's own queue shows it %d time(s), want %d", to.GetName(), n, want)
			}
		}
	})

	t.Run("a form without the CSRF token is refused", func(t *testing.T) {
		r3 := newResponse(0)
		e.publish(r3)
		id3 := e.waitCase(r3.GetResponseId()).GetCaseId()
		cookie := httpSignIn(t, base, "ann@shop.example")
		for _, token := range []string{"", "forged"} {
			form := url.Values{"note": {"sneaky"}}
			if token != "" {
				form.Set("csrf", token)
			}
			req, _ := http.NewRequestWithContext(testkit.Ctx(t), http.MethodPost, base+"/cases/"+id3+"/note", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(cookie)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST with token %q answered %s, want 403", token, resp.Status)
			}
		}
		got, err := e.client.GetCase(admin, &feedbackv1.GetCaseRequest{CaseId: id3})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.GetCase().GetNotes()) != 0 {
			t.Errorf("a refused form added notes: %v", got.GetCase().GetNotes())
		}
	})
}

// startInbox starts the service with its web port on loopback.
func startInbox(t *testing.T, now func() time.Time) (*lifeEnv, string) {
	t.Helper()
	te := testkit.NewEnv(t, callers...)
	cfg := service.Config{Base: te.Base()}
	cfg.Base.DBMaxConns = 8
	cfg.Base.HTTPAddr = "127.0.0.1:0"
	cfg.Now = now
	s := testkit.Start(t, service.New, cfg).Service
	conn := te.Conn(s.GRPCAddr(), "")
	return &lifeEnv{env: &env{Env: te, t: t, db: te.DB(service.Schema), client: feedbackv1.NewFeedbackServiceClient(conn)},
		teams: feedbackv1.NewTeamServiceClient(conn)}, "http://" + s.HTTPAddr()
}

// httpSignIn posts the login form and returns the session cookie.
func httpSignIn(t *testing.T, base, user string) *http.Cookie {
	t.Helper()
	form := url.Values{"username": {user}, "password": {"correct horse battery"}}
	req, _ := http.NewRequestWithContext(testkit.Ctx(t), http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == staff.CookieName && c.Value != "" {
			return c
		}
	}
	t.Fatalf("sign-in as %s: %s without a session cookie", user, resp.Status)
	return nil
}

// TestInboxQueueShowsEveryCase: a team with more open cases than a page of ListCases
// (200) sees them all in its queue, and the count says so.
func TestInboxQueueShowsEveryCase(t *testing.T) {
	t.Parallel()
	e, base := startInbox(t, time.Now)
	admin := as(keyAdmin)
	cs, err := e.teams.GetTeam(admin, &feedbackv1.GetTeamRequest{Team: "customer-service"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.teams.AddStaff(admin, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-staff-ann", TeamId: cs.GetTeam().GetTeamId(),
		Name: "Ann", Email: "ann@shop.example", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT}); err != nil {
		t.Fatal(err)
	}
	accounts, err := staff.Open(testkit.Ctx(t), staff.Config{DatabaseURL: e.DatabaseURL()}, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Create(testkit.Ctx(t), "ann@shop.example", []string{"service_agent"}, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	accounts.Close()
	const n = 230
	for range n {
		e.publish(newResponse(1))
	}
	testkit.Eventually(t, 30*time.Second, "every case opened", func() bool {
		return e.db.Count(`SELECT count(*) FROM cases WHERE team = 'customer-service'`) == n
	})
	req, _ := http.NewRequestWithContext(testkit.Ctx(t), http.MethodGet, base+"/", nil)
	req.AddCookie(httpSignIn(t, base, "ann@shop.example"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if rows := strings.Count(string(page), `<tr class="case`); rows != n || !strings.Contains(string(page), fmt.Sprintf("%d case(s)", n)) {
		t.Errorf("the queue shows %d rows of %d cases", rows, n)
	}
}
