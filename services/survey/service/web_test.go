package service_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
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

// answer posts the NPS survey's page as a customer who saw the follow-up of their
// score: the score and (when not empty) the reason.
func (e *env) answer(path string, score int, reason string) page {
	e.t.Helper()
	form := url.Values{"q.nps": {strconv.Itoa(score)}, "_shown": {"nps " + followUp(score)}}
	if reason != "" {
		form.Set("q."+followUp(score), reason)
	}
	return e.post(path, form)
}

// followUp is the NPS survey's open question for a score.
func followUp(score int) string {
	switch {
	case score <= 6:
		return "reason"
	case score <= 8:
		return "improve"
	}
	return "praise"
}

// postFrom posts form as a browser does from a page of origin site (Sec-Fetch-Site).
func (e *env) postFrom(site, path string, form url.Values, header ...string) page {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, e.baseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(req)
}

func pathOf(t testing.TB, link string) string {
	t.Helper()
	return "/s/" + tokenOf(t, link)
}

// hiddenQuestion reports whether the page has question id, hidden.
func hiddenQuestion(body, id string) (present, hidden bool) {
	m := regexp.MustCompile(`<[a-z]+ class="q[^"]*" data-q="` + id + `"[^>]*>`).FindString(body)
	return m != "", strings.Contains(m, " hidden")
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
		`<script src="../static/survey.js" defer></script>`,
		"<legend>Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?</legend>",
		"Überhaupt nicht wahrscheinlich",
		`aria-describedby="q-nps-ends"`,
		`name="q.nps" value="0"`, `name="q.nps" value="10"`,
		`<form id="survey" method="post" novalidate>`,
		`<input type="hidden" name="_shown" value="nps">`,
		`<label for="q-reason">Was ist der Hauptgrund für Ihre Bewertung? <span class="opt-tag">(freiwillig)</span></label>`,
		`data-show-if="nps" data-min="0" data-max="6"`,
		// Without the script a score reveals its follow-up on the next page.
		`<button type="submit" data-send="Senden">Weiter</button>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(p.body, `type="radio" name="q.nps"`); n != 11 {
		t.Errorf("%d score buttons, want 11", n)
	}
	for _, id := range []string{"reason", "improve", "praise"} {
		if present, hidden := hiddenQuestion(p.body, id); !present || !hidden {
			t.Errorf("follow-up %s: present %v, hidden %v; want present and hidden", id, present, hidden)
		}
	}
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'sha256-", "script-src 'self'", "connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy = %q, lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy allows inline code: %q", csp)
	}
	if p.header.Get("X-Content-Type-Options") != "nosniff" || p.header.Get("Referrer-Policy") != "no-referrer" || p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("security headers: %v", p.header)
	}
	if !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Errorf("Content-Type = %q", p.header.Get("Content-Type"))
	}
	if len(p.body) > 12<<10 {
		t.Errorf("the page is %d bytes; a phone on a slow line wants it small", len(p.body))
	}
	t.Logf("the page is %d bytes (its style inline)", len(p.body))

	// No score: the form again, the error tied to the question, which takes the focus;
	// the text given is kept, escaped.
	const xss = `<script>alert("x")</script> Danke & tschüss`
	p = e.post(path, url.Values{"q.reason": {xss}, "_shown": {"nps"}})
	if p.code != http.StatusBadRequest {
		t.Fatalf("POST without score: %d\n%s", p.code, p.body)
	}
	for _, want := range []string{
		`<p class="error" id="q-nps-err">Bitte wählen Sie einen Wert von 0 bis 10.</p>`,
		`aria-describedby="q-nps-ends q-nps-err"`,
		`name="q.nps" value="0" required autofocus>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("error page lacks %q\n%s", want, p.body)
		}
	}
	wantEscaped(t, p.body)

	// Without the script: the score alone shows its follow-up, and is kept as a draft.
	p = e.post(path, url.Values{"q.nps": {"3"}, "_shown": {"nps"}})
	if p.code != http.StatusOK {
		t.Fatalf("POST score: %d\n%s", p.code, p.body)
	}
	if present, hidden := hiddenQuestion(p.body, "reason"); !present || hidden {
		t.Errorf("after a 3 the reason question is present %v, hidden %v", present, hidden)
	}
	if _, hidden := hiddenQuestion(p.body, "praise"); !hidden {
		t.Error("after a 3 the praise question is shown")
	}
	for _, want := range []string{`name="q.nps" value="3" checked`, `<input type="hidden" name="_shown" value="nps reason">`, `<button type="submit">Senden</button>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the follow-up page lacks %q", want)
		}
	}
	if n := e.db.Count(`SELECT count(*) FROM response_drafts WHERE invitation_id = $1 AND answers -> 'nps' ->> 'score' = '3'`, de.GetInvitationId()); n != 1 {
		t.Errorf("the score is not kept as a draft")
	}
	// The draft fills the page when it is opened again.
	if p = e.get(path); !strings.Contains(p.body, `name="q.nps" value="3" checked`) {
		t.Errorf("the page opened again does not show the draft's score")
	}

	p = e.post(path, url.Values{"q.nps": {"3"}, "q.reason": {xss}, "_shown": {"nps reason"}})
	if p.code != http.StatusOK || !strings.Contains(p.body, `<h1 id="thanks">Vielen Dank! Ihre Antwort wurde gespeichert.</h1>`) {
		t.Fatalf("POST: %d\n%s", p.code, p.body)
	}

	// Recorded through the same use case as the API: stored as written, and published.
	var score int
	var class, comment, reason string
	if err := e.db.QueryRow(context.Background(),
		`SELECT score, nps_class, comment, answers -> 'reason' ->> 'text' FROM responses WHERE invitation_id = $1`, de.GetInvitationId()).Scan(&score, &class, &comment, &reason); err != nil {
		t.Fatal(err)
	}
	if score != 3 || class != "DETRACTOR" || comment != xss || reason != xss {
		t.Errorf("stored %d %s %q %q", score, class, comment, reason)
	}
	if ev := e.responseFor(de.GetInvitationId()); ev.GetScore() != 3 || ev.GetComment() != xss || ev.GetLocale() != "de" {
		t.Errorf("event %v", ev)
	}
	if n := e.db.Count(`SELECT count(*) FROM response_drafts WHERE invitation_id = $1`, de.GetInvitationId()); n != 0 {
		t.Errorf("the draft outlives the answer")
	}
	list, err := e.service.ListInvitations(testkit.Ctx(t), listRequest(de.GetMemberId()))
	if err != nil || len(list.GetInvitations()) != 1 || !list.GetInvitations()[0].GetAnswered() {
		t.Errorf("ListInvitations = %v, %v; want the invitation answered", list, err)
	}

	// Answered: the page thanks, a second post changes nothing and is refused.
	if p = e.get(path); p.code != http.StatusOK || !strings.Contains(p.body, "bereits beantwortet") {
		t.Errorf("GET after answer: %d\n%s", p.code, p.body)
	}
	if p = e.answer(path, 10, ""); p.code != http.StatusConflict || !strings.Contains(p.body, "bereits beantwortet") {
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
	// With the script, the follow-up was shown at once: one post answers.
	if p = e.answer(pathOf(t, en.GetUrl()), 9, "Friendly staff"); p.code != http.StatusOK || !strings.Contains(p.body, "Thank you! Your answer has been recorded.") {
		t.Errorf("English POST: %d\n%s", p.code, p.body)
	}
	if ev := e.responseFor(en.GetInvitationId()); ev.GetScore() != 9 || ev.GetComment() != "Friendly staff" || len(ev.GetAnswers()) != 2 {
		t.Errorf("event %v", ev)
	}
}

func TestSurveyPageDraftsAndScript(t *testing.T) {
	t.Parallel()
	e := start(t)
	inv := e.invite("en")
	path := pathOf(t, inv.GetUrl())

	if p := e.postFrom("same-origin", path+"/draft", url.Values{"q.nps": {"8"}, "q.improve": {"Faster tills"}}); p.code != http.StatusNoContent {
		t.Fatalf("draft: %d\n%s", p.code, p.body)
	}
	// Merged over the draft before.
	if p := e.postFrom("same-origin", path+"/draft", url.Values{"q.nps": {"7"}}); p.code != http.StatusNoContent {
		t.Fatalf("draft: %d\n%s", p.code, p.body)
	}
	p := e.get(path)
	if !strings.Contains(p.body, `name="q.nps" value="7" checked`) || !strings.Contains(p.body, ">Faster tills</textarea>") {
		t.Errorf("the page does not show the draft\n%s", p.body)
	}
	if _, hidden := hiddenQuestion(p.body, "improve"); hidden {
		t.Error("the draft's score does not show its follow-up")
	}
	for _, tt := range []struct {
		name string
		form url.Values
		code int
	}{
		{"score out of range", url.Values{"q.nps": {"12"}}, http.StatusBadRequest},
		{"score no number", url.Values{"q.nps": {"x"}}, http.StatusBadRequest},
		{"text too long", url.Values{"q.reason": {strings.Repeat("x", domain.MaxCommentLen+1)}}, http.StatusBadRequest},
	} {
		if p := e.postFrom("same-origin", path+"/draft", tt.form); p.code != tt.code {
			t.Errorf("%s: %d, want %d", tt.name, p.code, tt.code)
		}
	}
	if p := e.postFrom("", "/s/garbage/draft", url.Values{"q.nps": {"1"}}); p.code != http.StatusNotFound {
		t.Errorf("draft of a forged link: %d", p.code)
	}

	// Cross-origin posts are refused, by Sec-Fetch-Site or, without it, by Origin.
	for _, tt := range []struct {
		name, site string
		header     []string
		path       string
	}{
		{"cross-site draft", "cross-site", nil, path + "/draft"},
		{"cross-site answer", "cross-site", nil, path},
		{"same-site answer", "same-site", nil, path},
		{"foreign origin", "", []string{"Origin", "https://evil.example"}, path},
	} {
		p := e.postFrom(tt.site, tt.path, url.Values{"q.nps": {"0"}, "_shown": {"nps reason"}}, tt.header...)
		if p.code != http.StatusForbidden || !strings.Contains(p.body, "only be sent from its own page") {
			t.Errorf("%s: %d\n%s", tt.name, p.code, p.body)
		}
	}
	if n := e.db.Count(`SELECT count(*) FROM responses`); n != 0 {
		t.Errorf("a cross-origin post was recorded")
	}
	// The page's own origin may.
	if p := e.postFrom("", path, url.Values{"q.nps": {"8"}, "_shown": {"nps improve"}}, "Origin", e.baseURL); p.code != http.StatusOK {
		t.Errorf("same-origin answer: %d\n%s", p.code, p.body)
	}
	if n := e.db.Count(`SELECT count(*) FROM responses WHERE invitation_id = $1 AND answers -> 'improve' ->> 'text' = 'Faster tills'`, inv.GetInvitationId()); n != 0 {
		t.Errorf("a draft's answer the final post left out was recorded")
	}
	if p := e.postFrom("same-origin", path+"/draft", url.Values{"q.nps": {"1"}}); p.code != http.StatusConflict {
		t.Errorf("draft after the answer: %d, want 409", p.code)
	}

	js := e.get("/static/survey.js")
	if js.code != http.StatusOK || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") || !strings.Contains(js.body, "data-show-if") {
		t.Errorf("script: %d %s", js.code, js.header.Get("Content-Type"))
	}
	if len(js.body) > 6<<10 {
		t.Errorf("the script is %d bytes", len(js.body))
	}
	t.Logf("the script is %d bytes", len(js.body))
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
		{"expired post", func() page { return e.answer("/s/"+expired, 5, "") }, http.StatusGone, "abgelaufen"},
		{"unknown invitation", func() page { return e.get("/s/" + signer.Sign(uuid.New(), time.Now().Add(time.Hour))) }, http.StatusNotFound, "not available"},
		{"score out of range", func() page { return e.post("/s/"+token, url.Values{"q.nps": {"11"}, "_shown": {"nps"}}) }, http.StatusBadRequest, "Bitte wählen"},
		{"score not a number", func() page { return e.post("/s/"+token, url.Values{"q.nps": {"ten"}, "_shown": {"nps"}}) }, http.StatusBadRequest, "Bitte wählen"},
		{"reason too long", func() page { return e.answer("/s/"+token, 5, strings.Repeat("ä", domain.MaxCommentLen+1)) }, http.StatusBadRequest, "zu lang"},
		{"body too large", func() page { return e.answer("/s/"+token, 5, strings.Repeat("x", 100<<10)) }, http.StatusRequestEntityTooLarge, "too large"},
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
	if strings.Contains(body, "<script>") {
		t.Errorf("page contains an unescaped script tag:\n%s", body)
	}
	if !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Danke &amp; tschüss") {
		t.Errorf("page does not show the escaped comment:\n%s", body)
	}
}
