package service_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
)

// summary mirrors /api/summary.json.
type summary struct {
	Nps struct {
		From         string     `json:"from"`
		To           string     `json:"to"`
		Overall      figureJS   `json:"overall"`
		ByTouchpoint []figureJS `json:"by_touchpoint"`
		ByStore      []figureJS `json:"by_store"`
		ByDay        []figureJS `json:"by_day"`
	} `json:"nps"`
	CSAT   scoresJS `json:"csat"`
	CES    scoresJS `json:"ces"`
	Points struct {
		Issued      int64 `json:"issued"`
		Returned    int64 `json:"returned"`
		Redeemed    int64 `json:"redeemed"`
		Expired     int64 `json:"expired"`
		Outstanding int64 `json:"outstanding"`
	} `json:"points"`
	Cases struct {
		Open                  int64    `json:"open"`
		Resolved              int64    `json:"resolved"`
		Overdue               int64    `json:"overdue"`
		MedianFollowUpSeconds *float64 `json:"median_follow_up_seconds"`
		// FollowUps' figures are GetFollowUpStats' FollowUpFigure, by its names.
		FollowUps struct {
			From    string            `json:"from"`
			To      string            `json:"to"`
			Overall json.RawMessage   `json:"overall"`
			ByTeam  []json.RawMessage `json:"by_team"`
		} `json:"follow_ups"`
	} `json:"cases"`
	Coupons struct {
		Issued   int64 `json:"issued"`
		Redeemed int64 `json:"redeemed"`
	} `json:"coupons"`
	Topics []struct {
		Topic          string  `json:"topic"`
		Mentions       int64   `json:"mentions"`
		DetractorShare float64 `json:"detractor_share"`
	} `json:"topics"`
}

type figureJS struct {
	Key        string  `json:"key"`
	Promoters  int64   `json:"promoters"`
	Passives   int64   `json:"passives"`
	Detractors int64   `json:"detractors"`
	Responses  int64   `json:"responses"`
	Score      float64 `json:"score"`
}

type scoresJS struct {
	Overall      scoreFigureJS   `json:"overall"`
	ByTouchpoint []scoreFigureJS `json:"by_touchpoint"`
	ByStore      []scoreFigureJS `json:"by_store"`
	ByDay        []scoreFigureJS `json:"by_day"`
}

type scoreFigureJS struct {
	Key             string  `json:"key"`
	Responses       int64   `json:"responses"`
	Favourable      int64   `json:"favourable"`
	FavourableShare float64 `json:"favourable_share"`
	AverageScore    float64 `json:"average_score"`
}

func toScoresJS(r *reportingv1.ScoreReport) scoresJS {
	f := func(x *reportingv1.ScoreFigure) scoreFigureJS {
		return scoreFigureJS{Key: x.GetKey(), Responses: x.GetResponses(), Favourable: x.GetFavourable(),
			FavourableShare: x.GetFavourableShare(), AverageScore: x.GetAverageScore()}
	}
	fs := func(xs []*reportingv1.ScoreFigure) []scoreFigureJS {
		out := []scoreFigureJS{}
		for _, x := range xs {
			out = append(out, f(x))
		}
		return out
	}
	return scoresJS{Overall: f(r.GetOverall()), ByTouchpoint: fs(r.GetByTouchpoint()), ByStore: fs(r.GetByStore()), ByDay: fs(r.GetByDay())}
}

func toFigureJS(f *reportingv1.NpsFigure) figureJS {
	return figureJS{Key: f.GetKey(), Promoters: f.GetPromoters(), Passives: f.GetPassives(), Detractors: f.GetDetractors(), Responses: f.GetResponses(), Score: f.GetScore()}
}

func toFiguresJS(fs []*reportingv1.NpsFigure) []figureJS {
	out := []figureJS{}
	for _, f := range fs {
		out = append(out, toFigureJS(f))
	}
	return out
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	h := start(t)
	now := time.Now()
	purchase, web := commonv1.Touchpoint_TOUCHPOINT_PURCHASE, commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT

	for _, r := range []*surveyResponse{
		{purchase, "store-berlin", 10}, {purchase, "store-berlin", 9}, {purchase, "store-berlin", 10},
		{purchase, "store-hamburg", 9}, {purchase, "store-hamburg", 2},
		{web, "", 7}, {web, "", 8}, {web, "", 1}, {web, "", 10}, {web, "", 9},
	} {
		h.publish(subjectResponse, response(r.tp, r.store, r.score, now.Add(-time.Hour)))
	}
	// CSAT and CES answers: counted apart, never in the NPS.
	call, resolvedCase := commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL, commonv1.Touchpoint_TOUCHPOINT_CASE_RESOLVED
	for i, r := range []*surveyResponse{{call, "", 5}, {call, "", 4}, {call, "", 4}, {call, "", 1}} {
		h.publish(subjectResponse, scoredResponse(commonv1.ScoreKind_SCORE_KIND_CSAT, r.tp, r.store, r.score, now.Add(-time.Hour+time.Duration(i+1)*time.Second)))
	}
	for i, r := range []*surveyResponse{{resolvedCase, "", 6}, {resolvedCase, "", 3}} {
		h.publish(subjectResponse, scoredResponse(commonv1.ScoreKind_SCORE_KIND_CES, r.tp, r.store, r.score, now.Add(-time.Hour+time.Duration(i+10)*time.Second)))
	}
	h.publish(subjectCredited, credited(700, ledgerv1.PointsReason_POINTS_REASON_PURCHASE, now))
	h.publish(subjectDebited, debited(100, 40, ledgerv1.PointsReason_POINTS_REASON_RETURN, now))
	h.publish(subjectCaptured, &ledgerv1.HoldCaptured{HoldId: "h1", MemberId: "m1", Points: 200, CapturedAt: timestamppb.New(now)})

	// c1 resolved after 1h, c3 after 3h (median 2h); c2 still open and overdue; c4
	// open and not yet due. c3's resolution arrives before its opening.
	opened := func(id string, at, due time.Time) *feedbackv1.CaseOpened {
		return &feedbackv1.CaseOpened{CaseId: id, MemberId: "m1", Kind: feedbackv1.CaseKind_CASE_KIND_CALLBACK, Team: "care", OpenedAt: timestamppb.New(at), DueAt: timestamppb.New(due)}
	}
	resolved := func(id string, openedAt, at time.Time) *feedbackv1.CaseResolved {
		return &feedbackv1.CaseResolved{CaseId: id, Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED, OpenedAt: timestamppb.New(openedAt), ResolvedAt: timestamppb.New(at)}
	}
	h.publish(subjectCaseOpened, opened("c1", now.Add(-5*time.Hour), now.Add(time.Hour)))
	h.publish(subjectCaseOpened, opened("c2", now.Add(-3*time.Hour), now.Add(-time.Hour)))
	h.publish(subjectCaseResolved, resolved("c1", now.Add(-5*time.Hour), now.Add(-4*time.Hour)))
	h.publish(subjectCaseResolved, resolved("c3", now.Add(-10*time.Hour), now.Add(-7*time.Hour)))
	h.publish(subjectCaseOpened, opened("c3", now.Add(-10*time.Hour), now.Add(-8*time.Hour)))
	h.publish(subjectCaseOpened, opened("c4", now.Add(-time.Hour), now.Add(24*time.Hour)))

	h.publish(subjectCouponIssued, &rewardsv1.CouponIssued{CouponId: "k1", RedemptionId: "d1", MemberId: "m1", RewardId: "r1", Currency: "EUR"})
	h.publish(subjectCouponIssued, &rewardsv1.CouponIssued{CouponId: "k2", RedemptionId: "d2", MemberId: "m1", RewardId: "r1", Currency: "EUR"})
	h.publish(subjectCouponRedeemed, &rewardsv1.CouponRedeemed{CouponId: "k1", MemberId: "m1", RewardId: "r1", Currency: "EUR", RedeemedAt: timestamppb.New(now)})

	var s summary
	testkit.Eventually(t, 15*time.Second, "every event on the dashboard", func() bool {
		code, body, _ := h.get(t, h.httpURL+"/api/summary.json")
		if code != http.StatusOK {
			t.Fatalf("GET /api/summary.json: %d %s", code, body)
		}
		s = summary{}
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatalf("summary.json does not parse: %v\n%s", err, body)
		}
		return s.Nps.Overall.Responses == 10 && s.CSAT.Overall.Responses == 4 && s.CES.Overall.Responses == 2 && s.Points.Issued == 700 && s.Points.Returned == 60 && s.Points.Redeemed == 200 && s.Cases.Open+s.Cases.Resolved == 4 &&
			s.Cases.Resolved == 2 && s.Coupons.Issued+s.Coupons.Redeemed == 3
	})

	t.Run("summary.json matches GetNps and GetPointsSummary", func(t *testing.T) {
		nps, err := h.reporting.GetNps(testkit.Ctx(t), &reportingv1.GetNpsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(toFigureJS(nps.GetOverall()), s.Nps.Overall); diff != "" {
			t.Errorf("overall (-GetNps +json):\n%s", diff)
		}
		if diff := cmp.Diff(toFiguresJS(nps.GetByTouchpoint()), s.Nps.ByTouchpoint); diff != "" {
			t.Errorf("by touchpoint (-GetNps +json):\n%s", diff)
		}
		if diff := cmp.Diff(toFiguresJS(nps.GetByStore()), s.Nps.ByStore); diff != "" {
			t.Errorf("by store (-GetNps +json):\n%s", diff)
		}
		if diff := cmp.Diff(toFiguresJS(nps.GetByDay()), s.Nps.ByDay); diff != "" {
			t.Errorf("by day (-GetNps +json):\n%s", diff)
		}
		if got := s.Nps.Overall; got.Promoters != 6 || got.Passives != 2 || got.Detractors != 2 || got.Score != 40 {
			t.Errorf("overall = %+v, want 6 promoters, 2 passives, 2 detractors, score 40", got)
		}
		scores, err := h.reporting.GetScores(testkit.Ctx(t), &reportingv1.GetScoresRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(toScoresJS(scores.GetCsat()), s.CSAT); diff != "" {
			t.Errorf("CSAT (-GetScores +json):\n%s", diff)
		}
		if diff := cmp.Diff(toScoresJS(scores.GetCes()), s.CES); diff != "" {
			t.Errorf("CES (-GetScores +json):\n%s", diff)
		}
		if got := s.CSAT.Overall; got.Favourable != 3 || got.FavourableShare != 0.75 || got.AverageScore != 3.5 {
			t.Errorf("CSAT overall = %+v, want 3 of 4 satisfied, average 3.5", got)
		}
		pts, err := h.reporting.GetPointsSummary(testkit.Ctx(t), &reportingv1.GetPointsSummaryRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Points.Issued != pts.GetIssued() || s.Points.Returned != pts.GetReturned() || s.Points.Redeemed != pts.GetRedeemed() ||
			s.Points.Expired != pts.GetExpired() || s.Points.Outstanding != pts.GetOutstanding() {
			t.Errorf("points: json %+v, GetPointsSummary %v", s.Points, pts)
		}
		if s.Points.Outstanding != 700-60-200 {
			t.Errorf("outstanding = %d, want %d", s.Points.Outstanding, 700-60-200)
		}
		if s.Cases.Open != 2 || s.Cases.Overdue != 1 || s.Cases.Resolved != 2 {
			t.Errorf("cases = %+v, want 2 open (1 overdue), 2 resolved", s.Cases)
		}
		if m := s.Cases.MedianFollowUpSeconds; m == nil || *m != 2*3600 {
			t.Errorf("median follow-up = %v s, want 7200", m)
		}
		if s.Coupons.Issued != 2 || s.Coupons.Redeemed != 1 {
			t.Errorf("coupons = %+v, want 2 issued, 1 redeemed", s.Coupons)
		}
	})

	t.Run("the page shows the numbers", func(t *testing.T) {
		code, body, hdr := h.get(t, h.httpURL+"/")
		if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /: %d %s", code, hdr.Get("Content-Type"))
		}
		for _, want := range []string{
			`<meta http-equiv="refresh" content="5">`,
			`id="nps-score">40.0<`,
			`id="nps-promoters">6<`, `id="nps-passives">2<`, `id="nps-detractors">2<`, `id="nps-responses">10<`,
			`<td>PURCHASE</td><td class="good">60.0</td><td>4</td><td>0</td><td>1</td><td>5</td>`,
			`<td>WEB_VISIT</td><td class="fair">20.0</td><td>2</td><td>2</td><td>1</td><td>5</td>`,
			`<td>store-berlin</td><td class="good">100.0</td>`,
			`<td>store-hamburg</td><td class="fair">0.0</td>`,
			`<svg`, `class="pro"`,
			`id="points-issued">700<`, `id="points-returned">60<`, `id="points-redeemed">200<`, `id="points-outstanding">440<`,
			`id="cases-open">2<`, `id="cases-resolved">2<`, `id="cases-median">2h 0m<`,
			`id="coupons-issued">2<`, `id="coupons-redeemed">1<`,
			`id="csat-share">75.0 %<`, `id="csat-satisfied">3<`, `id="csat-average">3.50<`, `id="csat-responses">4<`,
			`id="ces-share">50.0 %<`, `id="ces-low-effort">1<`, `id="ces-average">4.50<`, `id="ces-responses">2<`,
			`<td>CASE_RESOLVED</td><td class="none">—</td><td>0</td><td class="bad">50.0 %</td><td>2</td>`,
			`<td>SERVICE_CALL</td><td class="fair">75.0 %</td><td>4</td><td class="none">—</td><td>0</td>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("GET / lacks %s", want)
			}
		}
		if strings.Contains(body, "<script") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("GET / loads scripts or external assets")
		}
	})

	t.Run("healthz", func(t *testing.T) {
		if code, body, _ := httpGet(t, h.httpURL+"/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
			t.Errorf("GET /healthz: %d %q", code, body)
		}
	})

	t.Run("unknown path", func(t *testing.T) {
		if code, _, _ := httpGet(t, h.httpURL+"/nope"); code != http.StatusNotFound {
			t.Errorf("GET /nope: %d, want 404", code)
		}
	})
}

type surveyResponse struct {
	tp    commonv1.Touchpoint
	store string
	score int32
}
