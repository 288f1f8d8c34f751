package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/pkg/testkit/browser"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	"github.com/treue/treue/services/survey/service"
)

// startReachable runs a survey service whose public URL is its own HTTP listener, so
// that the links it makes open in a browser.
func startReachable(t *testing.T) *env {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return start(t, func(c *service.Config) {
		c.Base.HTTPAddr = addr
		c.PublicURL = "http://" + addr
	})
}

// scoreButton is the radio button of a score.
func scoreButton(q string, n int) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`input[name="q.%s"][value="%d"]`, q, n))
}

// TestSurveyPageInTheBrowser answers survey links in a real headless Chromium, as a
// customer on a phone: with and without JavaScript, in German, with the keyboard only;
// a second answer and a forged link are refused; every control has an accessible name
// and the text has AA contrast.
func TestSurveyPageInTheBrowser(t *testing.T) {
	t.Parallel()
	e := startReachable(t)
	chrome := browser.New(t, browser.PhoneWidth, browser.PhoneHeight)

	t.Run("with JavaScript the reason appears without a reload; a second answer is refused", func(t *testing.T) {
		inv := e.invite("en")
		link := inv.GetUrl() // the link of survey.invitation.created, as delivered
		ctx := browser.Tab(t, chrome, browser.PhoneWidth, browser.PhoneHeight)
		browser.Do(t, ctx, "open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("survey")))
		if got := browser.Text(t, ctx, "button[type=submit]"); got != "Send" {
			t.Errorf("with the script the button says %q, want Send", got)
		}
		if !browser.Eval[bool](t, ctx, `document.querySelector('[data-q=reason]').hidden`) {
			t.Error("the reason question is shown before a score is given")
		}
		// A mark on this document: a reload would lose it.
		browser.Eval[bool](t, ctx, `window.sameDocument = true`)
		browser.Do(t, ctx, "answer 4", chromedp.Click(scoreButton("nps", 4)), chromedp.WaitVisible(chromedp.ID("q-reason")))
		if !browser.Eval[bool](t, ctx, `window.sameDocument === true`) {
			t.Error("the page was reloaded to show the reason question")
		}
		if got := browser.Text(t, ctx, `label[for=q-reason]`); !strings.HasPrefix(got, "What is the main reason for your score?") {
			t.Errorf("the follow-up asks %q", got)
		}
		if browser.Eval[bool](t, ctx, `!document.querySelector('[data-q=praise]').hidden`) {
			t.Error("the praise question is shown for a 4")
		}
		const reason = "I waited twenty minutes at the till."
		browser.Do(t, ctx, "type the reason", chromedp.SendKeys(chromedp.ID("q-reason"), reason))
		// The partial answers are saved as a draft while the customer types.
		testkit.Eventually(t, 15*time.Second, "the draft", func() bool {
			return e.db.Count(`SELECT count(*) FROM response_drafts WHERE invitation_id = $1
				AND answers -> 'nps' ->> 'score' = '4' AND answers -> 'reason' ->> 'text' = $2`, inv.GetInvitationId(), reason) == 1
		})
		browser.Screenshot(t, ctx, "survey-page", "js-1-answered")

		// The same link in a second tab shows the draft.
		other := browser.Tab(t, chrome, browser.PhoneWidth, browser.PhoneHeight)
		browser.Do(t, other, "open the link again", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("q-reason")))
		if !browser.Eval[bool](t, other, `document.querySelector('input[name="q.nps"][value="4"]').checked`) ||
			browser.Eval[string](t, other, `document.getElementById('q-reason').value`) != reason {
			t.Error("the second tab does not show the saved draft")
		}

		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("button[type=submit]")))
		if err != nil || resp.Status != 200 {
			t.Fatalf("submit: %v, %v", resp, err)
		}
		if got := browser.Text(t, ctx, "h1#thanks"); got != "Thank you! Your answer has been recorded." {
			t.Errorf("thanks: %q", got)
		}
		browser.Screenshot(t, ctx, "survey-page", "js-2-thanks")
		ev := e.responseFor(inv.GetInvitationId())
		if ev.GetScore() != 4 || ev.GetNpsClass() != commonv1.NpsClass_NPS_CLASS_DETRACTOR || ev.GetComment() != reason ||
			ev.GetScoreKind() != commonv1.ScoreKind_SCORE_KIND_NPS {
			t.Errorf("survey.response.submitted: %v", ev)
		}
		scores, texts := map[string]int32{}, map[string]string{}
		for _, a := range ev.GetAnswers() {
			if a.Score != nil {
				scores[a.GetQuestionId()] = a.GetScore()
			}
			texts[a.GetQuestionId()] = a.GetText()
		}
		if len(ev.GetAnswers()) != 2 || scores["nps"] != 4 || texts["reason"] != reason {
			t.Errorf("answers on the event: %v", ev.GetAnswers())
		}

		// The second tab submits too: refused, the first answer stays.
		resp, err = chromedp.RunResponse(other, chromedp.Click(chromedp.CSS("button[type=submit]")))
		if err != nil || resp.Status != 409 {
			t.Fatalf("second submit: status %v, %v; want 409", resp, err)
		}
		if got := browser.Text(t, other, "h1#thanks"); !strings.Contains(got, "already answered") {
			t.Errorf("second submit shows %q", got)
		}
		browser.Screenshot(t, other, "survey-page", "js-3-second-submit")
		if n := e.db.Count(`SELECT count(*) FROM responses WHERE invitation_id = $1`, inv.GetInvitationId()); n != 1 {
			t.Errorf("%d responses, want 1", n)
		}
	})

	t.Run("a tampered link is refused", func(t *testing.T) {
		link := e.invite("en").GetUrl()
		i := strings.LastIndex(link, "/s/") + 4
		swap := "A"
		if link[i:i+1] == "A" {
			swap = "B"
		}
		ctx := browser.Tab(t, chrome, browser.PhoneWidth, browser.PhoneHeight)
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(link[:i]+swap+link[i+1:]))
		if err != nil || resp.Status != 404 {
			t.Fatalf("tampered link: %v, %v; want 404", resp, err)
		}
		if got := browser.Text(t, ctx, "h1#problem"); !strings.Contains(got, "not valid") {
			t.Errorf("tampered link shows %q", got)
		}
		browser.Screenshot(t, ctx, "survey-page", "tampered")
	})

	t.Run("without JavaScript the follow-up comes on the next page", func(t *testing.T) {
		inv := e.invite("en")
		ctx := browser.Tab(t, chrome, browser.PhoneWidth, browser.PhoneHeight)
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		browser.Do(t, ctx, "open the link", chromedp.Navigate(inv.GetUrl()), chromedp.WaitVisible(chromedp.ID("survey")))
		if got := browser.Text(t, ctx, "button[type=submit]"); got != "Next" {
			t.Errorf("without the script the button says %q, want Next", got)
		}
		browser.Do(t, ctx, "answer 3", chromedp.Click(scoreButton("nps", 3)))
		if v, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-q=reason]').hidden`)); !v {
			t.Error("the reason question appeared without the script")
		}
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("button[type=submit]")))
		if err != nil || resp.Status != 200 {
			t.Fatalf("next: %v, %v", resp, err)
		}
		browser.Do(t, ctx, "the reason question", chromedp.WaitVisible(chromedp.ID("q-reason")))
		if n := e.db.Count(`SELECT count(*) FROM response_drafts WHERE invitation_id = $1 AND answers -> 'nps' ->> 'score' = '3'`, inv.GetInvitationId()); n != 1 {
			t.Error("the score is not kept as a draft")
		}
		if got := browser.Text(t, ctx, "button[type=submit]"); got != "Send" {
			t.Errorf("on the last page the button says %q, want Send", got)
		}
		browser.Screenshot(t, ctx, "survey-page", "nojs-1-follow-up")
		browser.Do(t, ctx, "type the reason", chromedp.SendKeys(chromedp.ID("q-reason"), "Nobody at the counter"))
		if resp, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("button[type=submit]"))); err != nil || resp.Status != 200 {
			t.Fatalf("send: %v, %v", resp, err)
		}
		if got := browser.Text(t, ctx, "h1#thanks"); got != "Thank you! Your answer has been recorded." {
			t.Errorf("thanks: %q", got)
		}
		browser.Screenshot(t, ctx, "survey-page", "nojs-2-thanks")
		if ev := e.responseFor(inv.GetInvitationId()); ev.GetScore() != 3 || ev.GetComment() != "Nobody at the counter" {
			t.Errorf("survey.response.submitted: %v", ev)
		}
	})

	t.Run("a German member reads German", func(t *testing.T) {
		inv := e.invite("de-DE")
		ctx := browser.Tab(t, chrome, browser.PhoneWidth, browser.PhoneHeight)
		browser.Do(t, ctx, "open the link", chromedp.Navigate(inv.GetUrl()), chromedp.WaitVisible(chromedp.ID("survey")))
		if lang := browser.Eval[string](t, ctx, `document.documentElement.lang`); lang != "de" {
			t.Errorf("lang %q", lang)
		}
		if got := browser.Text(t, ctx, "legend"); got != "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?" {
			t.Errorf("legend %q", got)
		}
		if got := browser.Text(t, ctx, "button[type=submit]"); got != "Senden" {
			t.Errorf("button %q", got)
		}
		browser.Do(t, ctx, "answer 10", chromedp.Click(scoreButton("nps", 10)), chromedp.WaitVisible(chromedp.ID("q-praise")))
		if got := browser.Text(t, ctx, "label[for=q-praise]"); !strings.HasPrefix(got, "Was hat Ihnen am besten gefallen?") {
			t.Errorf("follow-up %q", got)
		}
		browser.Screenshot(t, ctx, "survey-page", "de-1-form")
		browser.Do(t, ctx, "send", chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.ID("thanks")))
		if got := browser.Text(t, ctx, "h1#thanks"); got != "Vielen Dank! Ihre Antwort wurde gespeichert." {
			t.Errorf("thanks %q", got)
		}
		browser.Screenshot(t, ctx, "survey-page", "de-2-thanks")
		if ev := e.responseFor(inv.GetInvitationId()); ev.GetScore() != 10 || ev.GetLocale() != "de" {
			t.Errorf("survey.response.submitted: %v", ev)
		}
	})

	t.Run("the keyboard alone answers", func(t *testing.T) {
		inv := e.invite("en")
		ctx := browser.Tab(t, chrome, browser.PhoneWidth, browser.PhoneHeight)
		browser.Do(t, ctx, "open the link", chromedp.Navigate(inv.GetUrl()), chromedp.WaitVisible(chromedp.ID("survey")))
		active := func() string {
			return browser.Eval[string](t, ctx, `(function(a){return a.tagName.toLowerCase()+"|"+(a.name||"")+"|"+(a.value||"")})(document.activeElement)`)
		}
		browser.Do(t, ctx, "Tab", chromedp.KeyEvent(kb.Tab))
		if got := active(); got != "input|q.nps|0" {
			t.Fatalf("the first Tab reaches %q, want the first score", got)
		}
		// The focus is visible on the score the radio button draws.
		if ring := browser.Eval[string](t, ctx, `getComputedStyle(document.activeElement.nextElementSibling).outlineStyle`); ring != "solid" {
			t.Errorf("the focused score has outline %q", ring)
		}
		browser.Do(t, ctx, "Space, then four times right", chromedp.KeyEvent(" "),
			chromedp.KeyEvent(kb.ArrowRight+kb.ArrowRight+kb.ArrowRight+kb.ArrowRight), chromedp.WaitVisible(chromedp.ID("q-reason")))
		if !browser.Eval[bool](t, ctx, `document.querySelector('input[name="q.nps"][value="4"]').checked`) {
			t.Error("the keys did not choose 4")
		}
		browser.Screenshot(t, ctx, "survey-page", "keyboard-1-focus")
		browser.Do(t, ctx, "Tab to the reason", chromedp.KeyEvent(kb.Tab))
		if got := active(); got != "textarea|q.reason|" {
			t.Fatalf("Tab reaches %q, want the reason", got)
		}
		browser.Do(t, ctx, "type", chromedp.KeyEvent("Too slow"), chromedp.KeyEvent(kb.Tab))
		if got := active(); !strings.HasPrefix(got, "button|") {
			t.Fatalf("Tab reaches %q, want the button", got)
		}
		if ring := browser.Eval[string](t, ctx, `getComputedStyle(document.activeElement).outlineStyle`); ring != "solid" {
			t.Errorf("the focused button has outline %q", ring)
		}
		browser.Do(t, ctx, "Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("thanks")))
		if ev := e.responseFor(inv.GetInvitationId()); ev.GetScore() != 4 || ev.GetComment() != "Too slow" {
			t.Errorf("survey.response.submitted: %v", ev)
		}
	})

	t.Run("every control has a name; text has AA contrast; errors take the focus", func(t *testing.T) {
		ctx := browser.Tab(t, chrome, browser.PhoneWidth, browser.PhoneHeight)
		browser.Do(t, ctx, "open the link", chromedp.Navigate(e.invite("en").GetUrl()), chromedp.WaitVisible(chromedp.ID("survey")))
		checkAccessibleNames(t, ctx, 11+1) // 11 scores and the button; the reason is hidden
		checkContrast(t, ctx)
		browser.Do(t, ctx, "choose a score", chromedp.Click(scoreButton("nps", 5)), chromedp.WaitVisible(chromedp.ID("q-reason")))
		checkAccessibleNames(t, ctx, 11+1+1) // and the reason
		checkContrast(t, ctx)                // the chosen score: white on blue
		browser.Screenshot(t, ctx, "survey-page", "a11y-1-chosen")

		// Sent without a score: the error is tied to the question and takes the focus.
		ctx = browser.Tab(t, chrome, browser.PhoneWidth, browser.PhoneHeight)
		browser.Do(t, ctx, "open the link", chromedp.Navigate(e.invite("en").GetUrl()), chromedp.WaitVisible(chromedp.ID("survey")))
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("button[type=submit]")))
		if err != nil || resp.Status != 400 {
			t.Fatalf("submit without a score: %v, %v; want 400", resp, err)
		}
		if got := browser.Text(t, ctx, "#q-nps-err"); got != "Please choose a value from 0 to 10." {
			t.Errorf("error %q", got)
		}
		focus := browser.Eval[string](t, ctx, `(function(a){var f=a.closest('fieldset');return a.name+"="+a.value+"|"+(f?f.getAttribute('aria-describedby'):"")})(document.activeElement)`)
		if focus != "q.nps=0|q-nps-ends q-nps-err" {
			t.Errorf("focus after the error: %q, want the first score of the question described by its error", focus)
		}
		checkContrast(t, ctx)
		browser.Screenshot(t, ctx, "survey-page", "a11y-2-error")
	})
}

// checkAccessibleNames reads the page's accessibility tree as Chromium computes it: every
// radio, checkbox, text box and button shown has a name, and every radio is in a named
// group. want is how many controls the page shows at least.
func checkAccessibleNames(t *testing.T, ctx context.Context, want int) {
	t.Helper()
	tree, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatal(err)
	}
	str := func(v *accessibility.Value) string {
		if v == nil {
			return ""
		}
		var s string
		_ = json.Unmarshal([]byte(v.Value), &s)
		return strings.TrimSpace(s)
	}
	byID := map[accessibility.NodeID]*accessibility.Node{}
	for _, n := range tree.Nodes {
		byID[n.NodeID] = n
	}
	controls := 0
	for _, n := range tree.Nodes {
		role := str(n.Role)
		if n.Ignored || (role != "radio" && role != "checkbox" && role != "textbox" && role != "button") {
			continue
		}
		controls++
		if str(n.Name) == "" {
			t.Errorf("a %s has no accessible name", role)
		}
		if role != "radio" {
			continue
		}
		named := false
		for p := byID[n.ParentID]; p != nil; p = byID[p.ParentID] {
			if r := str(p.Role); r == "group" || r == "radiogroup" {
				named = str(p.Name) != ""
				break
			}
		}
		if !named {
			t.Errorf("radio %q is not in a named group", str(n.Name))
		}
	}
	if controls < want {
		t.Errorf("the accessibility tree has %d controls, want at least %d", controls, want)
	}
}

// colourSample is the text colour of an element shown and the background behind it.
type colourSample struct {
	Text   string
	FG, BG string
	Size   float64
	Weight int
}

// checkContrast computes, for every element that shows text, the contrast of its colour
// against the background behind it: at least 4.5:1, or 3:1 for large text (WCAG 2.x AA).
func checkContrast(t *testing.T, ctx context.Context) {
	t.Helper()
	raw := browser.Eval[string](t, ctx, `JSON.stringify(Array.from(document.querySelectorAll('body *')).filter(function (el) {
		if (!el.getClientRects().length) return false;
		return Array.from(el.childNodes).some(function (n) { return n.nodeType === 3 && n.textContent.trim() !== ''; });
	}).map(function (el) {
		var s = getComputedStyle(el), bg = 'rgba(0, 0, 0, 0)';
		for (var p = el; p; p = p.parentElement) {
			var c = getComputedStyle(p).backgroundColor;
			if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { bg = c; break; }
		}
		return {Text: el.textContent.trim().slice(0, 40), FG: s.color, BG: bg, Size: parseFloat(s.fontSize), Weight: parseInt(s.fontWeight, 10)};
	}))`)
	var samples []colourSample
	if err := json.Unmarshal([]byte(raw), &samples); err != nil {
		t.Fatal(err)
	}
	if len(samples) == 0 {
		t.Fatal("no text on the page")
	}
	for _, s := range samples {
		fg, ok1 := parseRGB(s.FG)
		bg, ok2 := parseRGB(s.BG)
		if s.BG == "rgba(0, 0, 0, 0)" {
			bg, ok2 = [3]float64{255, 255, 255}, true // the canvas
		}
		if !ok1 || !ok2 {
			t.Errorf("%q: colours %s on %s not understood", s.Text, s.FG, s.BG)
			continue
		}
		ratio := contrast(fg, bg)
		min := 4.5
		if s.Size >= 24 || (s.Size >= 18.66 && s.Weight >= 700) {
			min = 3
		}
		if ratio < min {
			t.Errorf("%q: %s on %s has contrast %.2f:1, want at least %.1f:1", s.Text, s.FG, s.BG, ratio, min)
		}
	}
}

func parseRGB(s string) ([3]float64, bool) {
	var c [3]float64
	var a float64 = 1
	if n, _ := fmt.Sscanf(s, "rgba(%g, %g, %g, %g)", &c[0], &c[1], &c[2], &a); n == 4 {
		return c, a == 1
	}
	if n, _ := fmt.Sscanf(s, "rgb(%g, %g, %g)", &c[0], &c[1], &c[2]); n == 3 {
		return c, true
	}
	return c, false
}

// contrast is the WCAG contrast ratio of two sRGB colours.
func contrast(a, b [3]float64) float64 {
	lum := func(c [3]float64) float64 {
		var l [3]float64
		for i, v := range c {
			v /= 255
			if v <= 0.04045 {
				l[i] = v / 12.92
			} else {
				l[i] = math.Pow((v+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
	}
	la, lb := lum(a), lum(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

// The contrast the browser test computes is WCAG's: black on white 21:1, #767676 on
// white just above 4.5:1, #777777 just below.
func TestContrastRatio(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		fg       [3]float64
		min, max float64
	}{
		{[3]float64{0, 0, 0}, 20.99, 21.01},
		{[3]float64{0x76, 0x76, 0x76}, 4.5, 4.6},
		{[3]float64{0x77, 0x77, 0x77}, 4.4, 4.5},
	} {
		if r := contrast(tt.fg, [3]float64{255, 255, 255}); r < tt.min || r >= tt.max {
			t.Errorf("contrast of %v on white = %.3f, want %.2f-%.2f", tt.fg, r, tt.min, tt.max)
		}
	}
}
