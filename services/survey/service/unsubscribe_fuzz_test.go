package service_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzUnsubscribeToken sends arbitrary tokens, methods and bodies to the unsubscribe page
// of a running service: the answer is never a server error, only the statuses of a bad or
// expired link, and never echoes markup unescaped.
func FuzzUnsubscribeToken(f *testing.F) {
	e := start(f)
	for _, seed := range []struct {
		token string
		post  bool
		body  string
	}{
		{"abc.def", false, ""},
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true, "List-Unsubscribe=One-Click"},
		{"<script>alert(1)</script>", true, ""},
		{strings.Repeat("x", 600), false, ""},
		{"..%2f..", true, strings.Repeat("a", 10000)},
	} {
		f.Add(seed.token, seed.post, []byte(seed.body))
	}
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, token string, post bool, body []byte) {
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		req, err := http.NewRequestWithContext(context.Background(), method, e.baseURL+"/u/"+url.PathEscape(token), bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			t.Skip()
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusGone, http.StatusNotFound, http.StatusMovedPermanently:
		default:
			t.Fatalf("%s /u/%q: %d\n%s", method, token, resp.StatusCode, out)
		}
		if bytes.Contains(out, []byte("<script")) {
			t.Fatalf("%s /u/%q echoes markup:\n%s", method, token, out)
		}
	})
}
