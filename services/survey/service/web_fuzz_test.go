package service_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzSurveyForm posts arbitrary bodies, content types and languages to a real survey
// page of a running service: the answer is never a server error, always one of the
// statuses the page documents, and never echoes markup unescaped.
func FuzzSurveyForm(f *testing.F) {
	e := start(f)
	path := pathOf(f, e.invite("de-AT").GetUrl())
	for _, seed := range []struct{ body, ctype, lang string }{
		{"score=7&comment=ok", "application/x-www-form-urlencoded", "de"},
		{"score=11", "application/x-www-form-urlencoded", "en"},
		{"score=%zz", "application/x-www-form-urlencoded", ""},
		{"comment=<script>alert(1)</script>&score=-1", "application/x-www-form-urlencoded", "fr;q=0.5,de"},
		{"--b\r\nContent-Disposition: form-data; name=\"score\"\r\n\r\n3\r\n--b--\r\n", "multipart/form-data; boundary=b", "en"},
		{strings.Repeat("comment=x&", 2000), "application/x-www-form-urlencoded", "de"},
		{"\x00\xff", "text/plain", "\xff"},
	} {
		f.Add([]byte(seed.body), seed.ctype, seed.lang)
	}
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, body []byte, ctype, lang string) {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, e.baseURL+path, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		// net/http refuses to send header values with control characters; so would a browser.
		if strings.ContainsAny(ctype+lang, "\r\n\x00") {
			t.Skip()
		}
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept-Language", lang)
		resp, err := client.Do(req)
		if err != nil {
			t.Skip() // a header net/http refuses to send
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		switch resp.StatusCode {
		case http.StatusOK, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("POST %q (%s): %d\n%s", body, ctype, resp.StatusCode, out)
		}
		if bytes.Contains(out, []byte("<script")) {
			t.Fatalf("POST %q: the page echoes markup unescaped:\n%s", body, out)
		}
	})
}
