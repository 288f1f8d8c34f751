package service_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	"github.com/treue/treue/services/feedback/service"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// FuzzInboxForms posts arbitrary bodies, with the session's CSRF token, to every form
// of a real inbox (real Postgres and NATS): never a server error, only the answers the
// forms know, and nothing from the body echoed unescaped.
func FuzzInboxForms(f *testing.F) {
	te := testkit.NewEnv(f, callers...)
	cfg := service.Config{Base: te.Base()}
	cfg.Base.DBMaxConns = 4
	cfg.Base.HTTPAddr = "127.0.0.1:0"
	s := testkit.Start(f, service.New, cfg).Service
	base := "http://" + s.HTTPAddr()
	conn := te.Conn(s.GRPCAddr(), "")
	teams, cases := feedbackv1.NewTeamServiceClient(conn), feedbackv1.NewFeedbackServiceClient(conn)
	admin := as(keyAdmin)
	cs, err := teams.GetTeam(admin, &feedbackv1.GetTeamRequest{Team: "customer-service"})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := teams.AddStaff(admin, &feedbackv1.AddStaffRequest{IdempotencyKey: "add-staff-fuzz", TeamId: cs.GetTeam().GetTeamId(),
		Name: "Fay", Email: "fay@shop.example", Role: feedbackv1.StaffRole_STAFF_ROLE_AGENT}); err != nil {
		f.Fatal(err)
	}
	accounts, err := staff.Open(testkit.Ctx(f), staff.Config{DatabaseURL: te.DatabaseURL()}, testkit.Logger(f))
	if err != nil {
		f.Fatal(err)
	}
	if _, err := accounts.Create(testkit.Ctx(f), "fay@shop.example", []string{"service_agent"}, "correct horse battery"); err != nil {
		f.Fatal(err)
	}
	accounts.Close()
	te.PublishEvent("", newResponse(3))
	var id string
	testkit.Eventually(f, 10*time.Second, "the case", func() bool {
		resp, err := cases.ListCases(admin, &feedbackv1.ListCasesRequest{PageSize: 5})
		if err != nil || len(resp.GetCases()) == 0 {
			return false
		}
		id = resp.GetCases()[0].GetCaseId()
		return true
	})

	form := url.Values{"username": {"fay@shop.example"}, "password": {"correct horse battery"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(base+"/login", form)
	if err != nil {
		f.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == staff.CookieName {
			cookie = c
		}
	}
	if cookie == nil {
		f.Fatalf("sign-in: %s without a session", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/cases/"+id, nil)
	req.AddCookie(cookie)
	resp, err = noRedirect.Do(req)
	if err != nil {
		f.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		f.Fatalf("the case page (%s) has no CSRF token", resp.Status)
	}
	token := string(m[1])

	for _, seed := range []struct{ action, body string }{
		{"note", "note=hello"},
		{"note", "note=" + url.QueryEscape("<script>alert(1)</script>")},
		{"note", "note=" + strings.Repeat("n", 5000)},
		{"acknowledge", ""},
		{"contact", "note=phone"},
		{"reassign", "staff_id=nobody"},
		{"resolve", "outcome=LOST"},
		{"resolve", "outcome=CONTACTED_RESOLVED&goodwill_points=-5"},
		{"resolve", "outcome=CONTACTED_RESOLVED&goodwill_points=99999999999999999999"},
		{"resolve", "outcome=CONTACTED_RESOLVED&goodwill_points=100000&reason=x"},
		{"explode", "a=b"},
		{"note", "%zz"},
		{"note", strings.Repeat("a=b&", 5000)},
	} {
		f.Add(seed.action, []byte(seed.body))
	}
	known := map[int]bool{http.StatusSeeOther: true, http.StatusBadRequest: true, http.StatusForbidden: true,
		http.StatusNotFound: true, http.StatusConflict: true, http.StatusUnprocessableEntity: true, http.StatusRequestEntityTooLarge: true}
	f.Fuzz(func(t *testing.T, action string, body []byte) {
		target, err := url.Parse(base + "/cases/" + id + "/" + url.PathEscape(action))
		if err != nil {
			t.Skip()
		}
		full := append([]byte("csrf="+url.QueryEscape(token)+"&"), body...)
		req, err := http.NewRequest(http.MethodPost, target.String(), bytes.NewReader(full))
		if err != nil {
			t.Skip()
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookie)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !known[resp.StatusCode] {
			t.Fatalf("POST %s %q answered %s: %s", action, body, resp.Status, out)
		}
		if bytes.Contains(out, []byte("<script>")) {
			t.Fatalf("POST %s %q echoed a script tag", action, body)
		}
	})
}
