package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/pkg/testkit/browser"
)

// The unsubscribe link of a delivered email, followed in a real browser: the page asks
// first (opening it changes nothing), the button unsubscribes, and the member is told so
// in their language.
func TestUnsubscribePageInTheBrowser(t *testing.T) {
	e := startDelivery(t)
	member := uuid.NewString()
	e.member(member, "de", "browser-unsub@example.test", "", true)
	m := e.mailFor(e.schedule(member, "de", time.Now()))
	link := e.local(strings.Trim(m.Header.Get("List-Unsubscribe"), "<>"))
	consent := func() int64 {
		return e.db.Count(`SELECT count(*) FROM members WHERE member_id = $1 AND survey_consent`, member)
	}

	ctx := browser.New(t, browser.PhoneWidth, browser.PhoneHeight)
	browser.Do(t, ctx, "open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("form button")))
	browser.Screenshot(t, ctx, "survey-page", "unsubscribe-1-asked")
	if button := browser.Text(t, ctx, "form button"); !strings.Contains(button, "Abmelden") {
		t.Errorf("the page asks with %q, want the German button", button)
	}
	if consent() != 1 {
		t.Fatal("opening the page withdrew the consent")
	}

	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("form button")))
	if err != nil || resp.Status != 200 {
		t.Fatalf("pressing the button: %v %v", resp, err)
	}
	browser.Screenshot(t, ctx, "survey-page", "unsubscribe-2-done")
	if done := browser.Text(t, ctx, "h1"); !strings.Contains(done, "Sie sind abgemeldet") {
		t.Errorf("after the button: %q", done)
	}
	testkit.Eventually(t, 10*time.Second, "survey consent withdrawn", func() bool { return consent() == 0 })
}
