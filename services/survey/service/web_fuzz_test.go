package service_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzSurveyForm posts arbitrary bodies, content types, languages and Sec-Fetch-Site
// values to a real survey page of a running service, and to its draft route: the answer
// is never a server error, always one of the statuses the page documents, and never
// echoes markup unescaped.
func FuzzSurveyForm(f *testing.F) {
	e := start(f)
	path := pathOf(f, e.invite("de-AT").GetUrl())
	for _, seed := range []struct {
		draft             bool
		body, ctype, lang string
		site              string
	}{
		{false, "q.nps=7&q.improve=ok&_shown=nps+improve", "application/x-www-form-urlencoded", "de", "same-origin"},
		{false, "q.nps=3&_shown=nps", "application/x-www-form-urlencoded", "de", ""},
		{true, "q.nps=3&q.reason=x", "application/x-www-form-urlencoded", "de", "same-origin"},
		{true, "q.nps=11", "application/x-www-form-urlencoded", "en", "same-origin"},
		{false, "q.nps=11", "application/x-www-form-urlencoded", "en", "none"},
		{false, "q.nps=%zz", "application/x-www-form-urlencoded", "", ""},
		{false, "q.reason=<script>alert(1)</script>&q.nps=-1&_shown=nps", "application/x-www-form-urlencoded", "fr;q=0.5,de", ""},
		{true, "q.reason=<script>alert(1)</script>&q.nps=x", "application/x-www-form-urlencoded", "de", ""},
		{false, "q.nps=1&q.nps=2&q.praise=a&q.nosuch=b&_shown=nps+reason+praise", "application/x-www-form-urlencoded", "en", ""},
		{false, "--b\r\nContent-Disposition: form-data; name=\"q.nps\"\r\n\r\n3\r\n--b--\r\n", "multipart/form-data; boundary=b", "en", ""},
		{false, strings.Repeat("q.reason=x&", 2000), "application/x-www-form-urlencoded", "de", ""},
		{false, "q.nps=4", "application/x-www-form-urlencoded", "de", "cross-site"},
		{true, "\x00\xff", "text/plain", "\xff", "same-site"},
	} {
		f.Add(seed.draft, []byte(seed.body), seed.ctype, seed.lang, seed.site)
	}
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, draft bool, body []byte, ctype, lang, site string) {
		target := e.baseURL + path
		if draft {
			target += "/draft"
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		// net/http refuses to send header values with control characters; so would a browser.
		if strings.ContainsAny(ctype+lang+site, "\r\n\x00") {
			t.Skip()
		}
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept-Language", lang)
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Skip() // a header net/http refuses to send
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		switch resp.StatusCode {
		case http.StatusOK, http.StatusNoContent, http.StatusBadRequest, http.StatusForbidden, http.StatusConflict,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("POST %s %q (%s, Sec-Fetch-Site %q): %d\n%s", target, body, ctype, site, resp.StatusCode, out)
		}
		if resp.StatusCode == http.StatusForbidden && (site == "same-origin" || site == "none") {
			t.Fatalf("POST with Sec-Fetch-Site %q refused", site)
		}
		// The page's own script tag is the only one.
		if bytes.Count(out, []byte("<script")) != bytes.Count(out, []byte(`<script src="../static/survey.js" defer></script>`)) {
			t.Fatalf("POST %q: the page echoes markup unescaped:\n%s", body, out)
		}
	})
}
