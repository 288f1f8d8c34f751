package web

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/internal/domain"
)

//go:embed dashboard.html
var dashboardHTML string

var dashboardTemplate = template.Must(template.New("dashboard").Parse(dashboardHTML))

// Dashboard serves the HTML dashboard, its figures as JSON, and a health check. It reads
// through the same use cases as the gRPC API.
type Dashboard struct {
	get     app.GetDashboard
	ping    func(context.Context) error
	refresh time.Duration
	now     func() time.Time
	log     *slog.Logger
}

// Roles is who may see the dashboard: the figures are the business's, not a case
// worker's.
var Roles = []string{"admin", "marketing", "auditor"}

// NewDashboard returns the dashboard's handler. The page and its JSON need a signed-in
// staff member with one of Roles (auth: the login page and logout are served here too);
// /healthz stays open for probes. ping checks the database for /healthz; the page
// reloads itself every refresh.
func NewDashboard(get app.GetDashboard, ping func(context.Context) error, auth *staff.Web, refresh time.Duration, now func() time.Time, log *slog.Logger) http.Handler {
	d := &Dashboard{get: get, ping: ping, refresh: refresh, now: now, log: log}
	signedIn := auth.RequireStaff(Roles...)
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", signedIn(http.HandlerFunc(d.page)))
	mux.Handle("GET /api/summary.json", signedIn(http.HandlerFunc(d.summary)))
	mux.HandleFunc("GET /healthz", d.health)
	auth.Routes(mux)
	return auth.Protect(mux)
}

func (d *Dashboard) page(w http.ResponseWriter, r *http.Request) {
	data, ok := d.load(w, r)
	if !ok {
		return
	}
	// Render to a buffer first: a template error must not leave half a page behind a 200.
	var buf bytes.Buffer
	view := toDashboardView(data, d.refresh, d.now())
	if acct, ok := staff.AccountFrom(r.Context()); ok {
		view.Staff = acct.Username
	}
	if err := dashboardTemplate.Execute(&buf, view); err != nil {
		d.log.ErrorContext(r.Context(), "dashboard: render", "err", err)
		http.Error(w, "the dashboard could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (d *Dashboard) summary(w http.ResponseWriter, r *http.Request) {
	data, ok := d.load(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(toSummaryJSON(data, d.now()))
}

func (d *Dashboard) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := d.ping(ctx); err != nil {
		d.log.WarnContext(ctx, "health: database unreachable", "err", err)
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (d *Dashboard) load(w http.ResponseWriter, r *http.Request) (app.Dashboard, bool) {
	data, err := d.get.Handle(r.Context())
	if err != nil {
		d.log.ErrorContext(r.Context(), "dashboard: read figures", "err", err)
		http.Error(w, "the figures could not be read", http.StatusInternalServerError)
		return app.Dashboard{}, false
	}
	return data, true
}

// JSON of /api/summary.json. NPS and points figures carry the same numbers (and names)
// as GetNps and GetPointsSummary.

type summaryJSON struct {
	GeneratedAt time.Time   `json:"generated_at"`
	Nps         npsJSON     `json:"nps"`
	CSAT        scoresJSON  `json:"csat"`
	CES         scoresJSON  `json:"ces"`
	Invitations funnelJSON  `json:"invitations"`
	Points      pointsJSON  `json:"points"`
	Cases       casesJSON   `json:"cases"`
	Coupons     couponsJSON `json:"coupons"`
	Topics      []topicJSON `json:"topics"`
}

type npsJSON struct {
	From         string       `json:"from"`
	To           string       `json:"to"`
	Overall      figureJSON   `json:"overall"`
	ByTouchpoint []figureJSON `json:"by_touchpoint"`
	ByStore      []figureJSON `json:"by_store"`
	ByDay        []figureJSON `json:"by_day"`
}

type figureJSON struct {
	Key        string  `json:"key"`
	Promoters  int64   `json:"promoters"`
	Passives   int64   `json:"passives"`
	Detractors int64   `json:"detractors"`
	Responses  int64   `json:"responses"`
	Score      float64 `json:"score"`
}

// scoresJSON is the CSAT or CES figures, with the names of GetScores.
type scoresJSON struct {
	Overall      scoreFigureJSON   `json:"overall"`
	ByTouchpoint []scoreFigureJSON `json:"by_touchpoint"`
	ByStore      []scoreFigureJSON `json:"by_store"`
	ByDay        []scoreFigureJSON `json:"by_day"`
}

type scoreFigureJSON struct {
	Key             string  `json:"key"`
	Responses       int64   `json:"responses"`
	Favourable      int64   `json:"favourable"`
	FavourableShare float64 `json:"favourable_share"`
	AverageScore    float64 `json:"average_score"`
}

func toScoresJSON(r domain.ScoreReport) scoresJSON {
	figures := func(gs []domain.ScoreGroup) []scoreFigureJSON {
		out := make([]scoreFigureJSON, len(gs))
		for i, g := range gs {
			out[i] = toScoreFigureJSON(g)
		}
		return out
	}
	return scoresJSON{
		Overall:      toScoreFigureJSON(domain.ScoreGroup{ScoreCounts: r.Overall}),
		ByTouchpoint: figures(r.ByTouchpoint), ByStore: figures(r.ByStore), ByDay: figures(r.ByDay),
	}
}

func toScoreFigureJSON(g domain.ScoreGroup) scoreFigureJSON {
	return scoreFigureJSON{Key: g.Key, Responses: g.Responses, Favourable: g.Favourable, FavourableShare: g.FavourableShare(), AverageScore: g.Average()}
}

// funnelJSON is the survey funnel, with the names of GetSurveyFunnel.
type funnelJSON struct {
	Created            int64        `json:"created"`
	Sent               int64        `json:"sent"`
	Reminded           int64        `json:"reminded"`
	Suppressed         int64        `json:"suppressed"`
	SuppressedByReason []reasonJSON `json:"suppressed_by_reason"`
	Failed             int64        `json:"failed"`
}

type reasonJSON struct {
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

func toFunnelJSON(r domain.FunnelReport) funnelJSON {
	f := funnelJSON{Created: r.Created, Sent: r.Sent, Reminded: r.Reminded, Suppressed: r.Suppressed, Failed: r.Failed,
		SuppressedByReason: make([]reasonJSON, len(r.SuppressedByReason))}
	for i, c := range r.SuppressedByReason {
		f.SuppressedByReason[i] = reasonJSON{Reason: c.Reason, Count: c.Count}
	}
	return f
}

type pointsJSON struct {
	Issued      int64     `json:"issued"`
	Returned    int64     `json:"returned"`
	Redeemed    int64     `json:"redeemed"`
	Expired     int64     `json:"expired"`
	Outstanding int64     `json:"outstanding"`
	AdjustedOut int64     `json:"adjusted_out"`
	AsOf        time.Time `json:"as_of"`
}

type casesJSON struct {
	Open     int64 `json:"open"`
	Resolved int64 `json:"resolved"`
	Overdue  int64 `json:"overdue"`
	// MedianFollowUpSeconds is null until a case is resolved.
	MedianFollowUpSeconds *float64 `json:"median_follow_up_seconds"`
	// FollowUps is the loop of the cases opened in the NPS period, as GetFollowUpStats.
	FollowUps followUpsJSON `json:"follow_ups"`
}

// followUpsJSON is GetFollowUpStats' answer, with its names.
type followUpsJSON struct {
	From    string               `json:"from"`
	To      string               `json:"to"`
	Overall followUpFigureJSON   `json:"overall"`
	ByTeam  []followUpFigureJSON `json:"by_team"`
}

type followUpFigureJSON struct {
	Team                       string  `json:"team"`
	Opened                     int64   `json:"opened"`
	Resolved                   int64   `json:"resolved"`
	StillOpen                  int64   `json:"still_open"`
	Overdue                    int64   `json:"overdue"`
	Merged                     int64   `json:"merged"`
	Contacted                  int64   `json:"contacted"`
	MedianFirstContactSeconds  float64 `json:"median_first_contact_seconds"`
	P90FirstContactSeconds     float64 `json:"p90_first_contact_seconds"`
	FirstContactWithinDueShare float64 `json:"first_contact_within_due_share"`
	MedianResolutionSeconds    float64 `json:"median_resolution_seconds"`
	P90ResolutionSeconds       float64 `json:"p90_resolution_seconds"`
	Escalated                  int64   `json:"escalated"`
	EscalationsByLevel         []int64 `json:"escalations_by_level"`
	Reminded                   int64   `json:"reminded"`
	Reopened                   int64   `json:"reopened"`
	Reopenings                 int64   `json:"reopenings"`
	FollowUpsAnswered          int64   `json:"follow_ups_answered"`
	SolvedShare                float64 `json:"solved_share"`
	SatisfiedShare             float64 `json:"satisfied_share"`
	FollowUpCSATAnswers        int64   `json:"follow_up_csat_answers"`
	FollowUpCSATAverage        float64 `json:"follow_up_csat_average"`
	GoodwillPoints             int64   `json:"goodwill_points"`
	GoodwillCoupons            int64   `json:"goodwill_coupons"`
}

func toFollowUpsJSON(r domain.FollowUpReport) followUpsJSON {
	figure := func(g domain.FollowUpGroup) followUpFigureJSON {
		c := g.FollowUpCounts
		return followUpFigureJSON{
			Team: g.Team, Opened: c.Opened, Resolved: c.Resolved, StillOpen: c.Open, Overdue: c.Overdue, Merged: c.Merged,
			Contacted: c.Contacted, MedianFirstContactSeconds: c.MedianFirstContact.Seconds(), P90FirstContactSeconds: c.P90FirstContact.Seconds(),
			FirstContactWithinDueShare: c.FirstContactInTimeShare(),
			MedianResolutionSeconds:    c.MedianResolution.Seconds(), P90ResolutionSeconds: c.P90Resolution.Seconds(),
			Escalated: c.Escalated(), EscalationsByLevel: c.ReachedLevel[:], Reminded: c.Reminded,
			Reopened: c.Reopened, Reopenings: c.Reopens, FollowUpsAnswered: c.FollowUps,
			SolvedShare: c.SolvedShare(), SatisfiedShare: c.SatisfiedShare(),
			FollowUpCSATAnswers: c.FollowUpCSAT.Responses, FollowUpCSATAverage: c.FollowUpCSAT.Average(),
			GoodwillPoints: c.GoodwillPoints, GoodwillCoupons: c.GoodwillCoupons,
		}
	}
	out := followUpsJSON{
		From: r.Period.From.Format(domain.DayLayout), To: r.Period.To.Format(domain.DayLayout),
		Overall: figure(domain.FollowUpGroup{FollowUpCounts: r.Overall}), ByTeam: make([]followUpFigureJSON, len(r.ByTeam)),
	}
	for i, g := range r.ByTeam {
		out.ByTeam[i] = figure(g)
	}
	return out
}

type couponsJSON struct {
	Issued   int64           `json:"issued"`
	Redeemed int64           `json:"redeemed"`
	ByDay    []couponDayJSON `json:"by_day"`
}

// topicJSON is one of the most mentioned topics, with the names of GetTopics.
type topicJSON struct {
	Topic            string  `json:"topic"`
	Mentions         int64   `json:"mentions"`
	Detractors       int64   `json:"detractors"`
	DetractorShare   float64 `json:"detractor_share"`
	PreviousMentions int64   `json:"previous_mentions"`
	MentionsChange   float64 `json:"mentions_change"`
}

type couponDayJSON struct {
	Day      string `json:"day"`
	Issued   int64  `json:"issued"`
	Redeemed int64  `json:"redeemed"`
}

func toSummaryJSON(d app.Dashboard, now time.Time) summaryJSON {
	s := summaryJSON{
		GeneratedAt: now.UTC(),
		Nps: npsJSON{
			From:         d.Nps.Period.From.Format(domain.DayLayout),
			To:           d.Nps.Period.To.Format(domain.DayLayout),
			Overall:      toFigureJSON(domain.NpsGroup{NpsCounts: d.Nps.Overall}),
			ByTouchpoint: toFiguresJSON(d.Nps.ByTouchpoint),
			ByStore:      toFiguresJSON(d.Nps.ByStore),
			ByDay:        toFiguresJSON(d.Nps.ByDay),
		},
		CSAT:        toScoresJSON(d.CSAT),
		CES:         toScoresJSON(d.CES),
		Invitations: toFunnelJSON(d.Funnel),
		Points: pointsJSON{
			Issued: d.Points.Issued, Returned: d.Points.Returned, Redeemed: d.Points.Redeemed,
			Expired: d.Points.Expired, Outstanding: d.Points.Outstanding(), AdjustedOut: d.Points.AdjustedOut,
			AsOf: d.Points.AsOf.UTC(),
		},
		Cases:   casesJSON{Open: d.Cases.Open, Resolved: d.Cases.Resolved, Overdue: d.Cases.Overdue, FollowUps: toFollowUpsJSON(d.FollowUps)},
		Coupons: couponsJSON{Issued: d.Coupons.Issued, Redeemed: d.Coupons.Redeemed, ByDay: []couponDayJSON{}},
	}
	if d.Cases.Resolved > 0 {
		secs := d.Cases.MedianFollowUp.Seconds()
		s.Cases.MedianFollowUpSeconds = &secs
	}
	s.Topics = make([]topicJSON, len(d.Topics.Topics))
	for i, t := range d.Topics.Topics {
		s.Topics[i] = topicJSON{Topic: t.Topic, Mentions: t.Current.Mentions, Detractors: t.Current.Detractors,
			DetractorShare: t.Current.DetractorShare(), PreviousMentions: t.Previous.Mentions, MentionsChange: t.MentionsChange()}
	}
	for _, c := range d.Coupons.ByDay {
		s.Coupons.ByDay = append(s.Coupons.ByDay, couponDayJSON{Day: c.Day.Format(domain.DayLayout), Issued: c.Issued, Redeemed: c.Redeemed})
	}
	return s
}

func toFiguresJSON(groups []domain.NpsGroup) []figureJSON {
	out := make([]figureJSON, len(groups))
	for i, g := range groups {
		out[i] = toFigureJSON(g)
	}
	return out
}

func toFigureJSON(g domain.NpsGroup) figureJSON {
	return figureJSON{Key: g.Key, Promoters: g.Promoters, Passives: g.Passives, Detractors: g.Detractors, Responses: g.Responses(), Score: g.Score()}
}

// The HTML page's view: numbers formatted and the chart laid out in Go, so the template
// only places them.

type dashboardView struct {
	// Staff is who is signed in, shown with the sign-out button.
	Staff          string
	RefreshSeconds int
	Generated      string
	From, To       string
	Overall        figureView
	ByTouchpoint   []figureView
	ByStore        []figureView
	Days           []figureView
	Chart          chartView
	// CSAT and CES overall, and both by touchpoint (one row per touchpoint either has).
	CSAT, CES    scoreView
	ScoreTouches []touchpointScoresView
	Invitations  funnelJSON
	Points       pointsView
	Cases        casesView
	Coupons      couponsJSON
	// The most mentioned topics, most first.
	Topics []topicView
}

type topicView struct {
	Topic    string
	Mentions int64
	// Detractors is the share of the NPS answers in per cent ("—" with none), Trend the
	// change of mentions against the period before ("new" when there were none).
	Detractors, Tone, Trend string
}

// toTopicView formats a topic's figures; the detractor share's tone: bad from 40 %,
// fair from 20 %.
func toTopicView(t domain.TopicTotals) topicView {
	v := topicView{Topic: t.Topic, Mentions: t.Current.Mentions, Detractors: "—", Tone: "none", Trend: "new"}
	if n := t.Current.NpsCounts.Responses(); n > 0 {
		share := t.Current.DetractorShare() * 100
		v.Detractors, v.Tone = percent(t.Current.DetractorShare(), n), "good"
		switch {
		case share >= 40:
			v.Tone = "bad"
		case share >= 20:
			v.Tone = "fair"
		}
	}
	if t.Previous.Mentions > 0 {
		v.Trend = fmt.Sprintf("%+.0f %%", t.MentionsChange()*100)
	}
	return v
}

type figureView struct {
	Key                                        string
	Promoters, Passives, Detractors, Responses int64
	Score                                      string
	Tone                                       string
}

type scoreView struct {
	Responses, Favourable int64
	// Share is the favourable share in per cent ("—" with no answers), Average the mean
	// score.
	Share, Average, Tone string
}

type touchpointScoresView struct {
	Key       string
	CSAT, CES scoreView
}

// toScoreView formats a CSAT or CES figure; its tone: good from 80 % favourable, fair
// from 60 %.
func toScoreView(c domain.ScoreCounts) scoreView {
	if c.Responses == 0 {
		return scoreView{Share: "—", Average: "—", Tone: "none"}
	}
	share := c.FavourableShare() * 100
	tone := "bad"
	switch {
	case share >= 80:
		tone = "good"
	case share >= 60:
		tone = "fair"
	}
	return scoreView{
		Responses: c.Responses, Favourable: c.Favourable, Tone: tone,
		Share: strconv.FormatFloat(share, 'f', 1, 64) + " %", Average: strconv.FormatFloat(c.Average(), 'f', 2, 64),
	}
}

// toTouchpointScores pairs the CSAT and CES figures of each touchpoint, in name order.
func toTouchpointScores(csat, ces []domain.ScoreGroup) []touchpointScoresView {
	idx := map[string]int{}
	var out []touchpointScoresView
	row := func(key string) *touchpointScoresView {
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, touchpointScoresView{Key: key, CSAT: toScoreView(domain.ScoreCounts{}), CES: toScoreView(domain.ScoreCounts{})})
		}
		return &out[i]
	}
	for _, g := range csat {
		row(g.Key).CSAT = toScoreView(g.ScoreCounts)
	}
	for _, g := range ces {
		row(g.Key).CES = toScoreView(g.ScoreCounts)
	}
	slices.SortFunc(out, func(a, b touchpointScoresView) int { return strings.Compare(a.Key, b.Key) })
	return out
}

type pointsView struct {
	Issued, Returned, Redeemed, Expired, AdjustedOut, Outstanding int64
	AsOf                                                          string
}

type casesView struct {
	Open, Resolved, Overdue int64
	MedianFollowUp          string
	// The loop of the cases opened in the period.
	Loop loopView
}

// loopView is the loop's overall figures, shares in per cent ("—" with nothing to share),
// and a row per team.
type loopView struct {
	Opened, Escalated, Reopened     int64
	GoodwillPoints, GoodwillCoupons int64
	InTime, Solved                  string
	Teams                           []loopTeamView
}

type loopTeamView struct {
	Team                string
	Opened, Open        int64
	Escalated, Reopened int64
	InTime, Solved      string
}

func toLoopView(r domain.FollowUpReport) loopView {
	c := r.Overall
	v := loopView{
		Opened: c.Opened, Escalated: c.Escalated(), Reopened: c.Reopened,
		InTime: percent(c.FirstContactInTimeShare(), c.ContactedWithDue), Solved: percent(c.SolvedShare(), c.SolvedAnswered),
		GoodwillPoints: c.GoodwillPoints, GoodwillCoupons: c.GoodwillCoupons,
	}
	for _, g := range r.ByTeam {
		v.Teams = append(v.Teams, loopTeamView{
			Team: cmp.Or(g.Team, "(no team)"), Opened: g.Opened, Open: g.Open, Escalated: g.Escalated(), Reopened: g.Reopened,
			InTime: percent(g.FirstContactInTimeShare(), g.ContactedWithDue), Solved: percent(g.SolvedShare(), g.SolvedAnswered),
		})
	}
	return v
}

// percent shows a share of of things in whole per cent; "—" when of is 0.
func percent(share float64, of int64) string {
	if of == 0 {
		return "—"
	}
	return strconv.FormatFloat(share*100, 'f', 0, 64) + " %"
}

type chartView struct {
	Width, Height, Baseline, LabelY int
	MaxResponses                    int64
	Bars                            []barView
}

type barView struct {
	X, Width int
	Title    string
	Label    string
	Segments []segmentView
}

type segmentView struct {
	X, Y, Width, Height int
	Class               string
}

const (
	chartSlot   = 22
	chartBar    = 16
	chartHeight = 140
	chartTop    = 10
)

func toDashboardView(d app.Dashboard, refresh time.Duration, now time.Time) dashboardView {
	v := dashboardView{
		RefreshSeconds: max(int(refresh.Seconds()), 1),
		Generated:      now.UTC().Format("2006-01-02 15:04:05 UTC"),
		From:           d.Nps.Period.From.Format(domain.DayLayout),
		To:             d.Nps.Period.To.Format(domain.DayLayout),
		Overall:        toFigureView(domain.NpsGroup{Key: "overall", NpsCounts: d.Nps.Overall}),
		ByTouchpoint:   toFigureViews(d.Nps.ByTouchpoint),
		ByStore:        toFigureViews(d.Nps.ByStore),
		Chart:          toChartView(d.Nps.DailySeries()),
		CSAT:           toScoreView(d.CSAT.Overall),
		CES:            toScoreView(d.CES.Overall),
		ScoreTouches:   toTouchpointScores(d.CSAT.ByTouchpoint, d.CES.ByTouchpoint),
		Invitations:    toFunnelJSON(d.Funnel),
		Points: pointsView{
			Issued: d.Points.Issued, Returned: d.Points.Returned, Redeemed: d.Points.Redeemed, Expired: d.Points.Expired,
			AdjustedOut: d.Points.AdjustedOut, Outstanding: d.Points.Outstanding(), AsOf: d.Points.AsOf.UTC().Format("2006-01-02 15:04:05 UTC"),
		},
		Cases: casesView{Open: d.Cases.Open, Resolved: d.Cases.Resolved, Overdue: d.Cases.Overdue, MedianFollowUp: "—",
			Loop: toLoopView(d.FollowUps)},
		Coupons: couponsJSON{Issued: d.Coupons.Issued, Redeemed: d.Coupons.Redeemed},
	}
	for _, t := range d.Topics.Topics {
		v.Topics = append(v.Topics, toTopicView(t))
	}
	if d.Cases.Resolved > 0 {
		v.Cases.MedianFollowUp = humanDuration(d.Cases.MedianFollowUp)
	}
	// Newest day first: the table is read from the top.
	for i := len(d.Nps.ByDay) - 1; i >= 0; i-- {
		v.Days = append(v.Days, toFigureView(d.Nps.ByDay[i]))
	}
	return v
}

func toFigureViews(groups []domain.NpsGroup) []figureView {
	out := make([]figureView, len(groups))
	for i, g := range groups {
		out[i] = toFigureView(g)
	}
	return out
}

func toFigureView(g domain.NpsGroup) figureView {
	score := g.Score()
	tone := "bad"
	switch {
	case g.Responses() == 0:
		tone = "none"
	case score >= 30:
		tone = "good"
	case score >= 0:
		tone = "fair"
	}
	return figureView{
		Key: g.Key, Promoters: g.Promoters, Passives: g.Passives, Detractors: g.Detractors, Responses: g.Responses(),
		Score: strconv.FormatFloat(score, 'f', 1, 64), Tone: tone,
	}
}

// toChartView stacks each day's detractors, passives and promoters into one bar,
// scaled to the busiest day.
func toChartView(days []domain.NpsGroup) chartView {
	c := chartView{Width: max(len(days), 1) * chartSlot, Height: chartTop + chartHeight + 18, Baseline: chartTop + chartHeight, LabelY: chartTop + chartHeight + 13}
	for _, d := range days {
		c.MaxResponses = max(c.MaxResponses, d.Responses())
	}
	scale := func(n int64) int {
		if c.MaxResponses == 0 {
			return 0
		}
		return int(n * chartHeight / c.MaxResponses)
	}
	for i, d := range days {
		b := barView{
			X: i*chartSlot + (chartSlot-chartBar)/2, Width: chartBar,
			Title: fmt.Sprintf("%s: %d responses (%d promoters, %d passives, %d detractors), NPS %.1f",
				d.Key, d.Responses(), d.Promoters, d.Passives, d.Detractors, d.Score()),
		}
		// Label the first day and every seventh, so the axis stays readable.
		if i%7 == 0 {
			b.Label = d.Key[5:]
		}
		y := c.Baseline
		for _, s := range []struct {
			n     int64
			class string
		}{{d.Detractors, "det"}, {d.Passives, "pas"}, {d.Promoters, "pro"}} {
			h := scale(s.n)
			if h == 0 {
				continue
			}
			y -= h
			b.Segments = append(b.Segments, segmentView{X: b.X, Y: y, Width: b.Width, Height: h, Class: s.class})
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

// humanDuration shows a follow-up time the way people say it: "2d 4h", "3h 12m", "45s".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	days, hours, mins, secs := d/(24*time.Hour), d%(24*time.Hour)/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm %ds", mins, secs)
	}
	return fmt.Sprintf("%ds", secs)
}
