package service_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/pkg/testkit/browser"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
)

// layout is what the page measures of itself in the browser.
type layout struct {
	ScrollWidth int `json:"scrollWidth"`
	ClientWidth int `json:"clientWidth"`
	Cards       []struct {
		ID          string  `json:"id"`
		Right       float64 `json:"right"`
		ScrollWidth int     `json:"scrollWidth"`
		ClientWidth int     `json:"clientWidth"`
	} `json:"cards"`
	Tables []struct {
		Card      string  `json:"card"`
		Left      float64 `json:"left"`
		Right     float64 `json:"right"`
		CardLeft  float64 `json:"cardLeft"`
		CardRight float64 `json:"cardRight"`
	} `json:"tables"`
}

// measure reports the page's overflow: the document's widths, each card's, and where each
// table lies against the content box of the card that holds it.
const measure = `(() => {
  const de = document.documentElement;
  const out = {scrollWidth: de.scrollWidth, clientWidth: de.clientWidth, cards: [], tables: []};
  for (const s of document.querySelectorAll('main > section')) {
    out.cards.push({id: s.id, right: s.getBoundingClientRect().right, scrollWidth: s.scrollWidth, clientWidth: s.clientWidth});
  }
  for (const t of document.querySelectorAll('table')) {
    const card = t.closest('section'), cs = getComputedStyle(card), c = card.getBoundingClientRect(), r = t.getBoundingClientRect();
    out.tables.push({card: card.id, left: r.left, right: r.right,
      cardLeft: c.left + parseFloat(cs.borderLeftWidth) + parseFloat(cs.paddingLeft),
      cardRight: c.right - parseFloat(cs.borderRightWidth) - parseFloat(cs.paddingRight)});
  }
  return JSON.stringify(out);
})()`

// TestDashboardFitsTheScreen loads the dashboard in a real headless Chromium on a laptop
// screen and on a phone, with long store ids and every touchpoint in the tables (CSAT and
// CES by touchpoint among them, and the topics customers talk about, one of the longest
// name a topic may have): the page never scrolls sideways and every table stays inside
// its card, and the CSAT, CES, topics and follow-up cards show their figures (the latter
// with a team of a long name).
func TestDashboardFitsTheScreen(t *testing.T) {
	t.Parallel()
	h := start(t)

	now := time.Now()
	stores := []string{
		"berlin-friedrichstrasse-flagship-0001",
		"hamburg-jungfernstieg-outlet-and-click-and-collect-point-000042", // 64, the longest a store id may be
		"web",
	}
	touchpoints := []commonv1.Touchpoint{
		commonv1.Touchpoint_TOUCHPOINT_PURCHASE, commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL,
		commonv1.Touchpoint_TOUCHPOINT_SALES_CALL, commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT,
	}
	n := 0
	for day := range 10 {
		for i, tp := range touchpoints {
			store := stores[(day+i)%len(stores)]
			h.publish(subjectResponse, response(tp, store, int32((day*3+i*4)%11), now.Add(-time.Duration(day*24+i)*time.Hour)))
			n++
		}
	}
	// CSAT and CES answers at every touchpoint, the new ones included.
	allTouchpoints := append(touchpoints, commonv1.Touchpoint_TOUCHPOINT_REWARD_DELIVERED, commonv1.Touchpoint_TOUCHPOINT_CASE_RESOLVED)
	for i, tp := range allTouchpoints {
		h.publish(subjectResponse, scoredResponse(commonv1.ScoreKind_SCORE_KIND_CSAT, tp, stores[i%len(stores)], int32(i%5+1), now.Add(-time.Duration(i)*time.Minute)))
		h.publish(subjectResponse, scoredResponse(commonv1.ScoreKind_SCORE_KIND_CES, tp, stores[i%len(stores)], int32(i%7+1), now.Add(-time.Duration(i)*time.Minute-time.Second)))
	}
	// Comments' topics: queue three times (two of its three NPS answers detractors), staff
	// twice, and a topic of 64 letters once.
	longTopic := strings.Repeat("click-and-collect-", 3) + "checkout-q"
	for i, tg := range []*feedbackv1.ResponseTagged{
		tagged(stores[1], 2, now, "queue", "staff"),
		tagged(stores[0], 9, now, "queue"),
		tagged("", 0, now, "queue", longTopic),
		tagged("web", 10, now, "staff"),
	} {
		tg.ResponseId = fmt.Sprintf("tagged-%d", i)
		h.publish(subjectTagged, tg)
	}
	// Follow-up cases of two teams, one of a long name: b1 contacted in time, resolved,
	// "solved", with goodwill points and a coupon; b2 escalated, contacted late, resolved,
	// then reopened by the customer's "not solved"; b3 merged into b2.
	longTeam := "north-east-customer-care-and-click-and-collect"
	at := func(h float64) *timestamppb.Timestamp {
		return timestamppb.New(now.Add(time.Duration(-h * float64(time.Hour))))
	}
	resolvedOK := feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED
	for _, e := range []proto.Message{
		&feedbackv1.CaseOpened{CaseId: "b1", Kind: feedbackv1.CaseKind_CASE_KIND_CALLBACK, Team: "customer-service", StoreId: stores[0], OpenedAt: at(5), FirstContactDueAt: at(3), DueAt: at(-24)},
		&feedbackv1.CaseContacted{Transition: &feedbackv1.CaseTransition{CaseId: "b1", Team: "customer-service", At: at(4)}},
		&feedbackv1.CaseResolved{CaseId: "b1", Team: "customer-service", Outcome: resolvedOK, OpenedAt: at(5), ResolvedAt: at(2)},
		&feedbackv1.CaseFollowUpReceived{CaseId: "b1", ResponseId: "f1", Score: 5, ScoreKind: commonv1.ScoreKind_SCORE_KIND_CSAT, Satisfied: true, Solved: "yes", ReceivedAt: at(1)},
		&feedbackv1.GoodwillGranted{GrantId: "b1", CaseId: "b1", MemberId: "m1", Points: 100, RewardId: "rw", GrantedAt: at(2)},
		&feedbackv1.GoodwillRewardIssued{CaseId: "b1", MemberId: "m1", RewardId: "rw", CouponId: "k9", ExpiresAt: at(-720), IssuedAt: at(2)},
		&feedbackv1.CaseOpened{CaseId: "b2", Kind: feedbackv1.CaseKind_CASE_KIND_CALLBACK, Team: longTeam, StoreId: stores[1], OpenedAt: at(6), FirstContactDueAt: at(5), DueAt: at(-24)},
		&feedbackv1.CaseEscalated{CaseId: "b2", Team: longTeam, Level: 1, At: at(5)},
		&feedbackv1.CaseContacted{Transition: &feedbackv1.CaseTransition{CaseId: "b2", Team: longTeam, At: at(3)}},
		&feedbackv1.CaseResolved{CaseId: "b2", Team: longTeam, Outcome: resolvedOK, OpenedAt: at(6), ResolvedAt: at(2)},
		&feedbackv1.CaseFollowUpReceived{CaseId: "b2", ResponseId: "f2", Score: 1, ScoreKind: commonv1.ScoreKind_SCORE_KIND_CSAT, Solved: "no", ReceivedAt: at(1)},
		&feedbackv1.CaseReopened{Transition: &feedbackv1.CaseTransition{CaseId: "b2", Team: longTeam, At: at(1)}},
		&feedbackv1.CaseOpened{CaseId: "b3", Kind: feedbackv1.CaseKind_CASE_KIND_CALLBACK, Team: longTeam, StoreId: stores[1], OpenedAt: at(2), DueAt: at(-24)},
		&feedbackv1.CasesMerged{PrimaryCaseId: "b2", DuplicateCaseId: "b3", At: at(1.5)},
	} {
		h.publish(testkit.Subject(e), e)
	}
	testkit.Eventually(t, 15*time.Second, "every response and case on the dashboard", func() bool {
		_, body, _ := h.get(t, h.httpURL+"/api/summary.json")
		var s summary
		if json.Unmarshal([]byte(body), &s) != nil || len(s.Cases.FollowUps.Overall) == 0 {
			return false
		}
		loop := figureOfJSON(t, s.Cases.FollowUps.Overall)
		return s.Nps.Overall.Responses == int64(n) &&
			s.CSAT.Overall.Responses == int64(len(allTouchpoints)) && s.CES.Overall.Responses == int64(len(allTouchpoints)) &&
			len(s.Topics) == 3 && s.Topics[0].Topic == "queue" && s.Topics[0].Mentions == 3 &&
			loop.GetOpened() == 3 && loop.GetMerged() == 1 && loop.GetReopened() == 1 && loop.GetGoodwillCoupons() == 1 &&
			loop.GetFollowUpsAnswered() == 2 && loop.GetEscalated() == 1 && loop.GetContacted() == 2
	})
	if code, body, _ := h.get(t, h.httpURL+"/"); code != http.StatusOK || strings.Count(body, "<table") != 6 {
		t.Fatalf("GET /: %d with %d tables, want 200 with 6", code, strings.Count(body, "<table"))
	}

	for _, screen := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{
		{"laptop 1280 px", 1280, 800, false},
		{"phone 390 px", 390, 844, true},
		{"small phone 320 px", 320, 640, true},
	} {
		t.Run(screen.name, func(t *testing.T) {
			// A browser of its own: each screen signs in afresh.
			ctx := browser.New(t, int(screen.width), int(screen.height))
			viewport := []chromedp.EmulateViewportOption{}
			if screen.mobile {
				// A phone honours the page's viewport meta tag, as a real one does.
				viewport = append(viewport, chromedp.EmulateScale(3), chromedp.EmulateMobile)
			}
			if err := chromedp.Do(ctx,
				chromedp.EmulateViewport(screen.width, screen.height, viewport...),
				chromedp.Navigate(h.httpURL+"/"),
				signInForm(demoUser, demoPassword),
				chromedp.WaitVisible(chromedp.CSS("#nps-days table")),
				chromedp.WaitVisible(chromedp.CSS("#scores-touchpoints table")),
				chromedp.WaitVisible(chromedp.CSS("#topics table")),
				chromedp.WaitVisible(chromedp.CSS("#cases table")),
			); err != nil {
				t.Fatalf("loading the dashboard in Chromium: %v", err)
			}
			// CSAT 1, 2, 3, 4, 5, 1 over the six touchpoints: two of six satisfied.
			shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`document.querySelector('#csat-share').innerText + '|' + document.querySelector('#ces-responses').innerText`))
			if err != nil || shown != "33.3 %|6" {
				t.Errorf("CSAT share and CES responses shown %q, %v; want 33.3 %% and 6", shown, err)
			}
			// The topics card: most mentioned first, with the detractor share of its NPS
			// answers; every topic is new against the period before.
			topics, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`Array.from(document.querySelectorAll('#topics tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText).join(' ')).join('|')`))
			wantTopics := "queue 3 67 % new|staff 2 50 % new|" + longTopic + " 1 100 % new"
			if err != nil || topics != wantTopics {
				t.Errorf("topics card shows %q, %v; want %q", topics, err, wantTopics)
			}
			// The follow-up card: the loop of the period's cases, overall and per team.
			loop, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`['in-time', 'escalated', 'reopened', 'solved', 'goodwill-points', 'goodwill-coupons'].map(id => document.querySelector('#cases-' + id).innerText).join('|')`))
			if want := "50 %|1|1|50 %|100|1"; err != nil || loop != want {
				t.Errorf("follow-up card shows %q, %v; want %q", loop, err, want)
			}
			teams, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`Array.from(document.querySelectorAll('#cases tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText).join(' ')).join('|')`))
			if want := "customer-service 1 0 100 % 0 0 100 %|" + longTeam + " 2 1 0 % 1 1 0 %"; err != nil || teams != want {
				t.Errorf("follow-up teams show %q, %v; want %q", teams, err, want)
			}
			raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](measure))
			if err != nil {
				t.Fatalf("measuring the dashboard: %v", err)
			}
			var l layout
			if err := json.Unmarshal([]byte(raw), &l); err != nil {
				t.Fatalf("measurements %s: %v", raw, err)
			}
			if l.ScrollWidth > l.ClientWidth {
				t.Errorf("the page scrolls sideways: %d px of content on a %d px screen", l.ScrollWidth, l.ClientWidth)
			}
			for _, c := range l.Cards {
				if c.ScrollWidth > c.ClientWidth || c.Right > float64(l.ClientWidth) {
					t.Errorf("card %s overflows: %d px of content in %d px, right edge at %.0f px", c.ID, c.ScrollWidth, c.ClientWidth, c.Right)
				}
			}
			if len(l.Tables) != 6 {
				t.Fatalf("%d tables measured, want 6: %s", len(l.Tables), raw)
			}
			for _, tb := range l.Tables {
				// Half a pixel for sub-pixel layout.
				if tb.Left < tb.CardLeft-0.5 || tb.Right > tb.CardRight+0.5 {
					t.Errorf("the table in %s spans %.1f–%.1f px, outside its card's %.1f–%.1f px",
						tb.Card, tb.Left, tb.Right, tb.CardLeft, tb.CardRight)
				}
			}
			if t.Failed() {
				t.Logf("measurements: %s", raw)
			}
		})
	}
}
