package service_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/pkg/testkit/browser"
	"github.com/treue/treue/services/reporting/service"
)

// clock is the sign-in's clock, moved by the test to expire a session.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		c.t = time.Now()
	}
	c.t = c.t.Add(d)
}

// signInForm fills and submits the login page the browser is on.
func signInForm(user, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SetValue(chromedp.CSS(`#username`), user),
		chromedp.SetValue(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#login`)),
	)
}

func location(ctx context.Context, t *testing.T) *url.URL {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestStaffSignInInTheBrowser walks a staff member through the sign-in in a real
// headless Chromium: the anonymous visit, a wrong password, the dashboard, sign-out,
// a forged cross-site form, an idle session, and the lockout.
func TestStaffSignInInTheBrowser(t *testing.T) {
	t.Parallel()
	clk := &clock{}
	h := startWith(t, func(c *service.Config) {
		c.Staff.Now = clk.Now
		c.Staff.MaxFailures = 3
		c.Staff.IdleTimeout = 20 * time.Minute
	})
	ctx := browser.New(t, browser.DesktopWidth, browser.DesktopHeight)

	t.Run("an anonymous visit is sent to the login page", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(h.httpURL+"/"), chromedp.WaitVisible(chromedp.CSS(`#login`))); err != nil {
			t.Fatal(err)
		}
		if u := location(ctx, t); u.Path != "/login" || u.Query().Get("next") != "/" {
			t.Errorf("anonymous visit landed on %s, want /login?next=/", u)
		}
	})

	t.Run("a wrong password shows an error", func(t *testing.T) {
		if err := chromedp.Do(ctx, signInForm(demoUser, "not the password")); err != nil {
			t.Fatal(err)
		}
		if got := browser.Text(t, ctx, "#error"); got != "Wrong user name or password." {
			t.Errorf("error shown: %q", got)
		}
		// The name typed is kept; the password is not.
		user, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#username`)))
		if err != nil {
			t.Fatal(err)
		}
		pw, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#password`)))
		if err != nil {
			t.Fatal(err)
		}
		if user != demoUser || pw != "" {
			t.Errorf("after a failure the form holds user %q and password %q", user, pw)
		}
	})

	t.Run("the right password shows the dashboard", func(t *testing.T) {
		if err := chromedp.Do(ctx, signInForm(demoUser, demoPassword), chromedp.WaitVisible(chromedp.CSS(`#nps-score`))); err != nil {
			t.Fatal(err)
		}
		if u := location(ctx, t); u.Path != "/" {
			t.Errorf("signed in, the browser is at %s, want /", u)
		}
		if got := browser.Text(t, ctx, "#staff"); got != demoUser {
			t.Errorf("signed in as %q, want %q", got, demoUser)
		}
	})

	t.Run("a cross-site form is refused", func(t *testing.T) {
		// A page on another site (localhost, not 127.0.0.1) that posts to the dashboard's
		// logout, as a forged form on a hostile page would.
		evil := crossSitePage(t, h.httpURL+"/logout")
		if err := chromedp.Do(ctx, chromedp.Navigate(evil)); err != nil {
			t.Fatal(err)
		}
		// The page submits itself: wait until the browser shows the answer.
		var body string
		testkit.Eventually(t, 30*time.Second, "the forged form's answer", func() bool {
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil || !strings.HasPrefix(loc, h.httpURL) {
				return false
			}
			body, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			return err == nil && body != ""
		})
		if !strings.Contains(body, "cross-origin request refused") {
			t.Errorf("the cross-site POST answered %q", body)
		}
		// Still signed in.
		if err := chromedp.Do(ctx, chromedp.Navigate(h.httpURL+"/"), chromedp.WaitVisible(chromedp.CSS(`#nps-score`))); err != nil {
			t.Fatalf("after the forged sign-out the dashboard is gone: %v", err)
		}
	})

	t.Run("sign-out ends the session", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#signout button`)), chromedp.WaitVisible(chromedp.CSS(`#note`))); err != nil {
			t.Fatal(err)
		}
		if got := browser.Text(t, ctx, "#note"); got != "You are signed out." {
			t.Errorf("after sign-out: %q", got)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(h.httpURL+"/"), chromedp.WaitVisible(chromedp.CSS(`#login`))); err != nil {
			t.Fatal(err)
		}
		if u := location(ctx, t); u.Path != "/login" {
			t.Errorf("after sign-out / shows %s, want the login page", u)
		}
	})

	t.Run("an idle session expires", func(t *testing.T) {
		if err := chromedp.Do(ctx, signInForm(demoUser, demoPassword), chromedp.WaitVisible(chromedp.CSS(`#nps-score`))); err != nil {
			t.Fatal(err)
		}
		clk.Advance(21 * time.Minute)
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#login`))); err != nil {
			t.Fatalf("after 21 idle minutes: %v", err)
		}
		if u := location(ctx, t); u.Path != "/login" {
			t.Errorf("an idle session still shows %s", u)
		}
	})

	t.Run("three failures lock the account", func(t *testing.T) {
		for i := range 3 {
			if err := chromedp.Do(ctx, chromedp.Navigate(h.httpURL+"/login"), signInForm(demoUser, fmt.Sprintf("guess number %d", i))); err != nil {
				t.Fatal(err)
			}
			if got := browser.Text(t, ctx, "#error"); got != "Wrong user name or password." {
				t.Fatalf("failure %d shows %q", i+1, got)
			}
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(h.httpURL+"/login"), signInForm(demoUser, demoPassword)); err != nil {
			t.Fatal(err)
		}
		if got := browser.Text(t, ctx, "#error"); got != "Too many failed sign-ins. Try again later." {
			t.Errorf("the right password while locked shows %q", got)
		}
		clk.Advance(16 * time.Minute)
		if err := chromedp.Do(ctx, chromedp.Navigate(h.httpURL+"/login"), signInForm(demoUser, demoPassword), chromedp.WaitVisible(chromedp.CSS(`#nps-score`))); err != nil {
			t.Fatalf("after the lock has passed: %v", err)
		}
	})
}

// crossSitePage serves, on localhost (another site than 127.0.0.1), a page whose form
// posts itself to target, and returns its URL.
func crossSitePage(t *testing.T, target string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s"><input name="x" value="1"></form><script>document.getElementById("f").submit()</script>`, target)
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	return "http://localhost:" + port + "/"
}

// TestSignInOverHTTP checks what a client without a browser sees: JSON refused with 401,
// a role without the dashboard refused with 403, a login form too large refused with 413,
// and a cross-origin POST refused with 403.
func TestSignInOverHTTP(t *testing.T) {
	t.Parallel()
	h := start(t)

	if code, body, _ := httpGet(t, h.httpURL+"/api/summary.json"); code != http.StatusUnauthorized || !strings.Contains(body, `"sign in required"`) {
		t.Errorf("anonymous GET /api/summary.json: %d %s, want 401", code, body)
	}
	if code, _, _ := h.get(t, h.httpURL+"/api/summary.json"); code != http.StatusOK {
		t.Errorf("signed-in GET /api/summary.json: %d, want 200", code)
	}
	h.createStaff(t, "sam", demoPassword, "service_agent")
	if code, body, _ := httpGetWith(t, h.httpURL+"/", h.signIn(t, "sam", demoPassword)); code != http.StatusForbidden {
		t.Errorf("a service agent's GET /: %d %s, want 403", code, body)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(body string, hdr map[string]string) int {
		req, err := http.NewRequestWithContext(testkit.Ctx(t), http.MethodPost, h.httpURL+"/login", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	form := url.Values{"username": {demoUser}, "password": {demoPassword}}.Encode()
	if code := post(form+"&pad="+strings.Repeat("x", 10<<10), nil); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 10 KiB login form: %d, want 413", code)
	}
	if code := post(form, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Errorf("a cross-site login: %d, want 403", code)
	}
	if code := post(form, map[string]string{"Origin": "https://evil.example"}); code != http.StatusForbidden {
		t.Errorf("a login from another origin: %d, want 403", code)
	}
	if code := post(form, map[string]string{"Sec-Fetch-Site": "same-origin"}); code != http.StatusSeeOther {
		t.Errorf("a same-origin login: %d, want 303", code)
	}
}
