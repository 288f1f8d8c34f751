// Package dashboards checks the Grafana dashboards under deploy/grafana/dashboards: each
// is well formed, and every metric its panels query is one the services export.
package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/scripts/internal/possim"
	feedback "github.com/treue/treue/services/feedback/service"
	ledger "github.com/treue/treue/services/ledger/service"
	reporting "github.com/treue/treue/services/reporting/service"
	rewards "github.com/treue/treue/services/rewards/service"
	survey "github.com/treue/treue/services/survey/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const dir = "../../deploy/grafana/dashboards"

// dashboard is the part of Grafana's dashboard JSON the checks read. Panels nest in rows.
type dashboard struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Title   string   `json:"title"`
	Type    string   `json:"type"`
	Targets []target `json:"targets"`
	Panels  []panel  `json:"panels"`
}

type target struct {
	Expr       string `json:"expr"`
	Datasource struct {
		UID string `json:"uid"`
	} `json:"datasource"`
}

// query is one PromQL expression of a dashboard, and where it is.
type query struct{ where, expr string }

// load reads every dashboard and returns its queries; it fails the test on a file that
// is not a dashboard: bad JSON, no uid or title, a panel without a query.
func load(t *testing.T) []query {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", dir, err)
	}
	var out []query
	uids := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Errorf("%s: not JSON: %v", f, err)
			continue
		}
		name := filepath.Base(f)
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: no uid or title", name)
		}
		if other, ok := uids[d.UID]; ok {
			t.Errorf("%s and %s share the uid %q", name, other, d.UID)
		}
		uids[d.UID] = name
		var walk func(ps []panel)
		n := 0
		walk = func(ps []panel) {
			for _, p := range ps {
				if p.Type == "row" {
					walk(p.Panels)
					continue
				}
				n++
				if len(p.Targets) == 0 {
					t.Errorf("%s: panel %q has no query", name, p.Title)
				}
				for _, tg := range p.Targets {
					if strings.TrimSpace(tg.Expr) == "" {
						t.Errorf("%s: panel %q has an empty query", name, p.Title)
					}
					if tg.Datasource.UID != "prometheus" {
						t.Errorf("%s: panel %q queries datasource %q, not prometheus", name, p.Title, tg.Datasource.UID)
					}
					out = append(out, query{where: name + ": " + p.Title, expr: tg.Expr})
				}
			}
		}
		walk(d.Panels)
		if n == 0 {
			t.Errorf("%s: no panels", name)
		}
	}
	return out
}

const alerts = "../../deploy/prometheus/alerts.yml"

// loadAlerts returns the expressions of Prometheus's alert rules: an alert on a metric
// nobody exports never fires, which is worse than a broken panel.
func loadAlerts(t *testing.T) []query {
	t.Helper()
	groups, errs := rulefmt.ParseFile(alerts, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("%s: %v", alerts, errs)
	}
	var out []query
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			out = append(out, query{where: "alerts.yml: " + r.Alert + r.Record, expr: r.Expr})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rules", alerts)
	}
	return out
}

// Grafana's variables are not PromQL: a range becomes 5m, anything else a plain word
// (they stand in label values).
var (
	rangeVar = regexp.MustCompile(`\[\$\{?\w+\}?\]`)
	anyVar   = regexp.MustCompile(`\$\{?\w+(:\w+)?\}?`)
)

// metricNames returns the metric names an expression selects, parsed with Prometheus's
// own parser.
func metricNames(expr string) ([]string, error) {
	expr = anyVar.ReplaceAllString(rangeVar.ReplaceAllString(expr, "[5m]"), "x")
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name != "" {
			names = append(names, name)
		}
		return nil
	})
	return names, nil
}

// prometheusOwn are the series Prometheus writes itself for every scrape target.
var prometheusOwn = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}

// missing returns the names queried that nothing exports. exported maps a family's name
// to its type; a histogram's or summary's _bucket, _sum and _count resolve to it.
func missing(queried []string, exported map[string]string) []string {
	var out []string
	for _, name := range queried {
		if _, ok := exported[name]; ok || prometheusOwn[name] {
			continue
		}
		found := false
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				typ := exported[base]
				found = found || typ == "histogram" || (suffix != "_bucket" && typ == "summary")
			}
		}
		if !found && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Every dashboard is well formed and its queries parse as PromQL.
func TestDashboardsAreWellFormed(t *testing.T) {
	for _, q := range load(t) {
		names, err := metricNames(q.expr)
		if err != nil {
			t.Errorf("%s: %q: %v", q.where, q.expr, err)
		} else if len(names) == 0 {
			t.Errorf("%s: %q selects no metric", q.where, q.expr)
		}
	}
}

// The comparison finds a name nobody exports, and resolves a histogram's series.
func TestMissingFindsWhatNobodyExports(t *testing.T) {
	exported := map[string]string{"treue_bus_consumer_lag": "gauge", "rpc_server_call_duration_seconds": "histogram", "up_total": "counter"}
	names, err := metricNames(`histogram_quantile(0.99, sum by (le) (rate(rpc_server_call_duration_seconds_bucket{service_name=~"$service"}[$__rate_interval])))
		+ on() group_left sum(treue_bus_consumer_lag) + sum(rate(treue_bogus_total[5m])) + sum(up_total_bucket)`)
	if err != nil {
		t.Fatal(err)
	}
	got := missing(names, exported)
	if want := []string{"treue_bogus_total", "up_total_bucket"}; !slices.Equal(got, want) {
		t.Fatalf("missing(%v) = %v, want %v", names, got, want)
	}
}

// Every metric a dashboard queries is exported by the services once they have done a
// little work: a purchase, a survey response, a redemption.
func TestDashboardMetricsAreExported(t *testing.T) {
	queries := append(load(t), loadAlerts(t)...)
	env := testkit.NewEnv(t)
	var admin []string

	lc, err := ledger.LoadConfig()
	must(t, err)
	lc.Base = env.Base()
	lc.Lots.ReturnWindow = 0 // the traffic redeems what it just earned: spendable at once
	l := testkit.Start(t, ledger.New, lc).Service
	admin = append(admin, l.AdminAddr())

	sc, err := survey.LoadConfig()
	must(t, err)
	sc.Base = env.Base()
	sc.TokenSecret = strings.Repeat("s", 32)
	s := testkit.Start(t, survey.New, sc).Service
	admin = append(admin, s.AdminAddr())

	fc, err := feedback.LoadConfig()
	must(t, err)
	fc.Base = env.Base()
	admin = append(admin, testkit.Start(t, feedback.New, fc).Service.AdminAddr())

	rc, err := rewards.LoadConfig()
	must(t, err)
	rc.Base = env.Base()
	rc.LedgerAddr, rc.ServiceAPIKey = l.GRPCAddr(), env.Key("service")
	r := testkit.Start(t, rewards.New, rc).Service
	admin = append(admin, r.AdminAddr())

	pc, err := reporting.LoadConfig()
	must(t, err)
	pc.Base = env.Base()
	admin = append(admin, testkit.Start(t, reporting.New, pc).Service.AdminAddr())

	traffic(t, env, l.GRPCAddr(), s.GRPCAddr(), r.GRPCAddr())
	// A log level change without a key: a security refusal, as an intruder's would be.
	req, err := http.NewRequest(http.MethodPut, "http://"+l.AdminAddr()+"/loglevel", strings.NewReader("debug"))
	must(t, err)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("PUT /loglevel without a key = %d, want 401", resp.StatusCode)
	}

	exported := map[string]string{}
	for _, addr := range admin {
		for name, typ := range scrape(t, addr) {
			exported[name] = typ
		}
	}
	for _, q := range queries {
		names, err := metricNames(q.expr)
		if err != nil {
			t.Fatalf("%s: %v", q.where, err)
		}
		for _, name := range missing(names, exported) {
			t.Errorf("%s: %s is exported by no service", q.where, name)
		}
	}
	if t.Failed() || testing.Verbose() {
		var names []string
		for n, typ := range exported {
			names = append(names, n+" ("+typ+")")
		}
		sort.Strings(names)
		t.Logf("exported:\n%s", strings.Join(names, "\n"))
	}
}

// traffic enrols a member who buys, answers the survey and redeems a reward, and waits
// until each step is done.
func traffic(t *testing.T, env *testkit.Env, ledgerAddr, surveyAddr, rewardsAddr string) {
	ctx := context.Background()
	ledgerAPI := ledgerv1.NewLedgerServiceClient(env.Conn(ledgerAddr, "admin"))
	member, err := ledgerAPI.Enroll(ctx, &ledgerv1.EnrollRequest{IdempotencyKey: "dash-enrol", DisplayName: "Dana",
		Email: "dana@example.com", Locale: "en", SurveyConsent: true})
	must(t, err)
	id := member.Member.MemberId
	till := possim.Till{JS: env.JS(), Namespace: env.NS()}
	must(t, till.PublishPurchase(ctx, &posv1.PurchaseRecorded{
		EventId: "0192f0c1-2222-7000-8000-000000000001", StoreId: "berlin-01", TransactionId: "D-1",
		MemberId: id, OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 10000,
	}))
	balance := func() int64 {
		b, err := ledgerAPI.GetBalance(ctx, &ledgerv1.GetBalanceRequest{MemberId: id})
		must(t, err)
		return b.Available
	}
	testkit.Eventually(t, 20*time.Second, "the purchase credited", func() bool { return balance() == 100 })

	surveyAPI := surveyv1.NewSurveyServiceClient(env.Conn(surveyAddr, "service"))
	var token string
	testkit.Eventually(t, 20*time.Second, "an invitation", func() bool {
		inv, err := surveyAPI.ListInvitations(ctx, &surveyv1.ListInvitationsRequest{MemberId: id})
		must(t, err)
		if len(inv.Invitations) == 0 {
			return false
		}
		u := inv.Invitations[0].Url
		token = u[strings.LastIndex(u, "/")+1:]
		return true
	})
	_, err = surveyAPI.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Score: 3, Comment: "Slow till"})
	must(t, err)
	testkit.Eventually(t, 20*time.Second, "the survey bonus", func() bool { return balance() == 150 })

	rewardsAdmin := rewardsv1.NewRewardsServiceClient(env.Conn(rewardsAddr, "admin"))
	reward, err := rewardsAdmin.CreateReward(ctx, &rewardsv1.CreateRewardRequest{Name: "5 EUR off",
		Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON, PointsPrice: 50, ValueMinor: 500, Currency: "EUR", ValidDays: 30})
	must(t, err)
	_, err = rewardsAdmin.Redeem(ctx, &rewardsv1.RedeemRequest{IdempotencyKey: "dash-redeem", MemberId: id, RewardId: reward.Reward.RewardId})
	must(t, err)
	testkit.Eventually(t, 20*time.Second, "the redemption captured", func() bool { return balance() == 100 })
}

// scrape returns the metric families an admin port exports, by name and type.
func scrape(t *testing.T, addr string) map[string]string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	must(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: %d", addr, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("%s/metrics: %v", addr, err)
	}
	out := map[string]string{}
	for name, f := range fams {
		out[name] = strings.ToLower(f.GetType().String())
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Sprint(err))
	}
}
