package service_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/services/survey/internal/domain"
)

type page struct {
	code   int
	header http.Header
	body   string
}

func (e *env) get(path string, header ...string) page {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, e.baseURL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(req)
}

func (e *env) post(path string, form url.Values) page {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, e.baseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

func (e *env) do(req *http.Request) page {
	e.t.Helper()
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return page{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// answer posts the answers of the NPS survey's page: a score and a reason.
func (e *env) answer(path string, score int, reason string) page {
	e.t.Helper()
	return e.post(path, url.Values{"score": {strconv.Itoa(score)}, "comment": {reason}})
}

func pathOf(t testing.TB, link string) string {
	t.Helper()
	return "/s/" + tokenOf(t, link)
}

func TestSurveyPage(t *testing.T) {
	t.Parallel()
	e := start(t)
	de := e.invite("de-AT")
	path := pathOf(t, de.GetUrl())

	p := e.get(path)
	if p.code != http.StatusOK {
		t.Fatalf("GET: %d\n%s", p.code, p.body)
	}
	for _, want := range []string{
		`<html lang="de">`,
		`name="viewport"`,
		"Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?",
		"Überhaupt nicht wahrscheinlich",
		`value="0"`, `value="10"`,
		`<form method="post">`,
		`name="comment"`,
		"Senden",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(p.body, `type="radio"`); n != 11 {
		t.Errorf("%d score buttons, want 11", n)
	}
	csp := p.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src 'sha256-") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if p.header.Get("X-Content-Type-Options") != "nosniff" || p.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("security headers: %v", p.header)
	}
	if !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Errorf("Content-Type = %q", p.header.Get("Content-Type"))
	}

	// No score: the form again, with the comment kept and escaped.
	const xss = `<script>alert("x")</script> Danke & tschüss`
	p = e.post(path, url.Values{"comment": {xss}})
	if p.code != http.StatusBadRequest || !strings.Contains(p.body, "Bitte wählen Sie einen Wert von 0 bis 10.") {
		t.Errorf("POST without score: %d\n%s", p.code, p.body)
	}
	wantEscaped(t, p.body)

	p = e.post(path, url.Values{"score": {"3"}, "comment": {xss}})
	if p.code != http.StatusOK || !strings.Contains(p.body, "Vielen Dank!") {
		t.Fatalf("POST: %d\n%s", p.code, p.body)
	}
	wantEscaped(t, p.body)

	// Recorded through the same use case as the API: stored as written, and published.
	var score int
	var class, comment string
	if err := e.db.QueryRow(context.Background(),
		`SELECT score, nps_class, comment FROM responses WHERE invitation_id = $1`, de.GetInvitationId()).Scan(&score, &class, &comment); err != nil {
		t.Fatal(err)
	}
	if score != 3 || class != "DETRACTOR" || comment != xss {
		t.Errorf("stored %d %s %q", score, class, comment)
	}
	if ev := e.responseFor(de.GetInvitationId()); ev.GetScore() != 3 || ev.GetComment() != xss {
		t.Errorf("event %v", ev)
	}
	list, err := e.service.ListInvitations(testkit.Ctx(t), listRequest(de.GetMemberId()))
	if err != nil || len(list.GetInvitations()) != 1 || !list.GetInvitations()[0].GetAnswered() {
		t.Errorf("ListInvitations = %v, %v; want the invitation answered", list, err)
	}

	// Answered: the page thanks, a second post changes nothing.
	if p = e.get(path); p.code != http.StatusOK || !strings.Contains(p.body, "bereits beantwortet") {
		t.Errorf("GET after answer: %d\n%s", p.code, p.body)
	}
	if p = e.post(path, url.Values{"score": {"10"}}); p.code != http.StatusConflict || !strings.Contains(p.body, "bereits beantwortet") {
		t.Errorf("second POST: %d\n%s", p.code, p.body)
	}
	if n := e.db.Count(`SELECT count(*) FROM responses WHERE invitation_id = $1 AND score = 3`, de.GetInvitationId()); n != 1 {
		t.Errorf("the first answer must stay")
	}

	// English for an English (or unknown) locale.
	en := e.invite("en-GB")
	if p = e.get(pathOf(t, en.GetUrl())); p.code != http.StatusOK ||
		!strings.Contains(p.body, "How likely are you to recommend us to a friend or colleague?") || !strings.Contains(p.body, `lang="en"`) {
		t.Errorf("English page: %d\n%s", p.code, p.body)
	}
	fr := e.invite("fr-FR")
	if p = e.get(pathOf(t, fr.GetUrl())); !strings.Contains(p.body, "How likely are you") {
		t.Errorf("fallback page: %d\n%s", p.code, p.body)
	}
	if p = e.post(pathOf(t, en.GetUrl()), url.Values{"score": {"9"}}); p.code != http.StatusOK || !strings.Contains(p.body, "Thank you!") {
		t.Errorf("English POST: %d\n%s", p.code, p.body)
	}
}

func TestSurveyPageProblems(t *testing.T) {
	t.Parallel()
	e := start(t)
	inv := e.invite("de")
	token := tokenOf(t, inv.GetUrl())
	signer := mustSigner(t, testSecret)
	expired := signer.Sign(uuid.MustParse(inv.GetInvitationId()), time.Now().Add(-time.Hour))

	tests := []struct {
		name string
		get  func() page
		code int
		want string
	}{
		{"tampered", func() page { return e.get("/s/x" + token[1:]) }, http.StatusNotFound, "not valid"},
		{"garbage", func() page { return e.get("/s/garbage", "Accept-Language", "en-US,en;q=0.8") }, http.StatusNotFound, "not valid"},
		{"garbage in German", func() page { return e.get("/s/garbage", "Accept-Language", "de-CH, en;q=0.5") }, http.StatusNotFound, "ungültig"},
		{"too long", func() page { return e.get("/s/" + strings.Repeat("a", 600)) }, http.StatusNotFound, "not valid"},
		{"expired", func() page { return e.get("/s/" + expired) }, http.StatusGone, "abgelaufen"},
		{"expired post", func() page { return e.post("/s/"+expired, url.Values{"score": {"5"}}) }, http.StatusGone, "abgelaufen"},
		{"unknown invitation", func() page { return e.get("/s/" + signer.Sign(uuid.New(), time.Now().Add(time.Hour))) }, http.StatusGone, "no longer available"},
		{"score out of range", func() page { return e.post("/s/"+token, url.Values{"score": {"11"}}) }, http.StatusBadRequest, "Bitte wählen"},
		{"score not a number", func() page { return e.post("/s/"+token, url.Values{"score": {"ten"}}) }, http.StatusBadRequest, "Bitte wählen"},
		{"comment too long", func() page {
			return e.post("/s/"+token, url.Values{"score": {"5"}, "comment": {strings.Repeat("ä", domain.MaxCommentLen+1)}})
		}, http.StatusBadRequest, "zu lang"},
		{"body too large", func() page {
			return e.post("/s/"+token, url.Values{"score": {"5"}, "comment": {strings.Repeat("x", 100<<10)}})
		}, http.StatusRequestEntityTooLarge, "too large"},
		{"health", func() page { return e.get("/healthz") }, http.StatusOK, "ok"},
		{"unknown path", func() page { return e.get("/admin") }, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.get()
			if p.code != tt.code || !strings.Contains(p.body, tt.want) {
				t.Errorf("%d, want %d with %q\n%s", p.code, tt.code, tt.want, p.body)
			}
			if p.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff header")
			}
		})
	}
	if n := e.db.Count(`SELECT count(*) FROM responses`); n != 0 {
		t.Errorf("%d responses stored, want 0", n)
	}
}

// wantEscaped checks that a comment with markup is shown as text, never as markup.
func wantEscaped(t *testing.T, body string) {
	t.Helper()
	if strings.Contains(body, "<script") {
		t.Errorf("page contains an unescaped script tag:\n%s", body)
	}
	if !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Danke &amp; tschüss") {
		t.Errorf("page does not show the escaped comment:\n%s", body)
	}
}
