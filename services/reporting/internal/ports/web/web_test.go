package web

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/internal/domain"
)

func TestDashboardRendersEmptyAndFull(t *testing.T) {
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	period, err := domain.NewPeriod(nil, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	full := app.Dashboard{
		Nps: domain.NpsReport{
			Period:       period,
			Overall:      domain.NpsCounts{Promoters: 5, Passives: 3, Detractors: 2},
			ByTouchpoint: []domain.NpsGroup{{Key: "PURCHASE", NpsCounts: domain.NpsCounts{Promoters: 5, Passives: 3, Detractors: 2}}},
			ByStore:      []domain.NpsGroup{{Key: "<b>s1</b>", NpsCounts: domain.NpsCounts{Detractors: 2}}},
			ByDay: []domain.NpsGroup{
				{Key: "2026-06-01", NpsCounts: domain.NpsCounts{Promoters: 4, Detractors: 1}},
				{Key: "2026-06-29", NpsCounts: domain.NpsCounts{Promoters: 1, Passives: 3, Detractors: 1}},
			},
		},
		Points:  domain.PointsSummary{Issued: 100, Returned: 10, Redeemed: 20, Expired: 5, AsOf: now},
		Cases:   domain.CaseStats{Open: 3, Resolved: 2, Overdue: 1, MedianFollowUp: 26*time.Hour + 30*time.Minute},
		Coupons: domain.CouponStats{Issued: 4, Redeemed: 1},
		CSAT: domain.ScoreReport{Kind: domain.KindCSAT, Period: period, Overall: domain.ScoreCounts{Responses: 4, ScoreSum: 15, Favourable: 3},
			ByTouchpoint: []domain.ScoreGroup{{Key: "SERVICE_CALL", ScoreCounts: domain.ScoreCounts{Responses: 4, ScoreSum: 15, Favourable: 3}}}},
		CES: domain.ScoreReport{Kind: domain.KindCES, Period: period, Overall: domain.ScoreCounts{Responses: 2, ScoreSum: 9, Favourable: 1},
			ByTouchpoint: []domain.ScoreGroup{{Key: "CASE_RESOLVED", ScoreCounts: domain.ScoreCounts{Responses: 2, ScoreSum: 9, Favourable: 1}}}},
	}
	tests := []struct {
		name string
		data app.Dashboard
		want []string
	}{
		{"empty", app.Dashboard{Nps: domain.NpsReport{Period: period}, Points: domain.PointsSummary{AsOf: now}}, []string{
			`id="nps-score">0.0<`, `No responses in this period.`, `id="cases-median">—<`, `id="points-outstanding">0<`,
			`id="csat-share">—<`, `id="ces-responses">0<`, `No CSAT or CES responses in this period.`,
		}},
		{"full", full, []string{
			`id="nps-score">30.0<`, `id="points-outstanding">65<`, `id="cases-median">1d 2h<`, `id="cases-overdue" class="bad">1<`,
			`&lt;b&gt;s1&lt;/b&gt;`, // store ids are escaped
			`<title>2026-06-01: 5 responses (4 promoters, 0 passives, 1 detractors), NPS 60.0</title>`,
			`class="pro"`, `class="det"`, `class="pas"`,
			`class="big fair" id="csat-share">75.0 %<`, `id="csat-satisfied">3<`, `id="csat-average">3.75<`, `id="csat-responses">4<`,
			`class="big bad" id="ces-share">50.0 %<`, `id="ces-low-effort">1<`, `id="ces-average">4.50<`,
			`<td>CASE_RESOLVED</td><td class="none">—</td><td>0</td><td class="bad">50.0 %</td><td>2</td>`,
			`<td>SERVICE_CALL</td><td class="fair">75.0 %</td><td>4</td><td class="none">—</td><td>0</td>`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := dashboardTemplate.Execute(&buf, toDashboardView(tt.data, 5*time.Second, now)); err != nil {
				t.Fatal(err)
			}
			page := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %s", w)
				}
			}
			// 31 days in the default period: one bar each.
			if n := strings.Count(page, "<g><title>"); n != domain.DefaultPeriodDays+1 {
				t.Errorf("%d bars, want %d", n, domain.DefaultPeriodDays+1)
			}
			js, err := json.Marshal(toSummaryJSON(tt.data, now))
			if err != nil {
				t.Fatal(err)
			}
			// Lists are [] when empty; only an unknown median is null.
			nulls := bytes.Count(js, []byte("null"))
			if tt.data.Cases.Resolved == 0 {
				nulls -= bytes.Count(js, []byte(`"median_follow_up_seconds":null`))
			}
			if nulls != 0 {
				t.Errorf("summary has null lists: %s", js)
			}
		})
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{45 * time.Second, "45s"},
		{3*time.Minute + 2*time.Second, "3m 2s"},
		{2 * time.Hour, "2h 0m"},
		{3*time.Hour + 12*time.Minute + 40*time.Second, "3h 12m"},
		{50 * time.Hour, "2d 2h"},
	}
	for _, tt := range tests {
		if got := humanDuration(tt.d); got != tt.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// A topic's row: the detractor share of its NPS answers with its tone, "—" without one,
// and the trend against the period before ("new" when it had no mentions then).
func TestTopicView(t *testing.T) {
	tot := func(mentions int64, nps domain.NpsCounts, before int64) domain.TopicTotals {
		return domain.TopicTotals{Topic: "queue", Current: domain.TopicCounts{Mentions: mentions, NpsCounts: nps},
			Previous: domain.TopicCounts{Mentions: before}}
	}
	for _, tt := range []struct {
		in   domain.TopicTotals
		want topicView
	}{
		{tot(4, domain.NpsCounts{Detractors: 2, Promoters: 1}, 2), topicView{"queue", 4, "67 %", "bad", "+100 %"}},
		{tot(5, domain.NpsCounts{Detractors: 1, Promoters: 3}, 10), topicView{"queue", 5, "25 %", "fair", "-50 %"}},
		{tot(3, domain.NpsCounts{Promoters: 3}, 3), topicView{"queue", 3, "0 %", "good", "+0 %"}},
		{tot(2, domain.NpsCounts{}, 0), topicView{"queue", 2, "—", "none", "new"}},
	} {
		if got := toTopicView(tt.in); got != tt.want {
			t.Errorf("toTopicView(%+v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
