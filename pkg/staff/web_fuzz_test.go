package staff_test

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/testkit"
)

// FuzzLoginForm posts arbitrary bodies to a real login page (real Postgres): no server
// error, a session only for the right name and password, a redirect only to a path of
// this site, and nothing echoed unescaped.
func FuzzLoginForm(f *testing.F) {
	store, err := staff.Open(testkit.Ctx(f), staff.Config{DatabaseURL: testkit.Database(f), MaxFailures: 1 << 30, MaxFailuresPerIP: 1 << 30}, testkit.Logger(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(store.Close)
	if _, err := store.Create(testkit.Ctx(f), "ada", []string{"admin"}, password); err != nil {
		f.Fatal(err)
	}
	web := staff.NewWeb(store, testkit.Logger(f))
	mux := http.NewServeMux()
	web.Routes(mux)
	srv := httptest.NewServer(web.Protect(mux))
	f.Cleanup(srv.Close)

	good := url.Values{"username": {"ada"}, "password": {password}}
	for _, seed := range []string{
		good.Encode(),
		good.Encode() + "&next=/reports?x=1",
		good.Encode() + "&next=//evil.example/",
		good.Encode() + "&next=/\\evil.example",
		good.Encode() + "&next=https://evil.example/",
		good.Encode() + "&next=/%0d%0aSet-Cookie:x=1",
		"username=<script>alert(1)</script>&password=x",
		"username=ADA&password=" + url.QueryEscape(password),
		"username=ada&password=" + strings.Repeat("p", 5000),
		"username=%zz",
		strings.Repeat("a=b&", 3000),
	} {
		f.Add([]byte(seed), "application/x-www-form-urlencoded")
	}
	f.Add([]byte(good.Encode()), "applicaTion/x-www-form-urlencoded") // found by fuzzing: a right sign-in
	f.Add([]byte(good.Encode()), "application/x-www-form-urlencoded-not")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		if strings.ContainsAny(ctype, "\r\n\x00") {
			t.Skip()
		}
		req, err := http.NewRequest(http.MethodPost, srv.URL+staff.LoginPath, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		req.Header.Set("Content-Type", ctype)
		resp, err := client.Do(req)
		if err != nil {
			t.Skip()
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		form, _ := url.ParseQuery(string(body))
		// Media types are case-insensitive (RFC 9110), as net/http's form parsing reads them.
		mt, _, mtErr := mime.ParseMediaType(ctype)
		right := mtErr == nil && mt == "application/x-www-form-urlencoded" &&
			strings.EqualFold(strings.TrimSpace(form.Get("username")), "ada") && form.Get("password") == password
		switch resp.StatusCode {
		case http.StatusSeeOther:
			if !right {
				t.Fatalf("POST %q (%s) signed in", body, ctype)
			}
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Fatalf("POST %q redirects off the site: %q", body, loc)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("POST %q (%s): %d\n%s", body, ctype, resp.StatusCode, out)
		}
		if bytes.Contains(out, []byte("<script")) {
			t.Fatalf("POST %q echoes markup unescaped:\n%s", body, out)
		}
	})
}
