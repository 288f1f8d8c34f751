package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// TestDeployment runs every check on the repository's own deployment.
func TestDeployment(t *testing.T) {
	c := &checker{root: "../.."}
	c.run("docker-compose.yml", ".env.example")
	for _, p := range c.problems {
		t.Error(p)
	}
}

// TestPrometheusAlertsAreParsed: the deployment's rules load, and a broken rule, a
// missing alert or a service left unscraped is reported.
func TestPrometheusAlertsAreParsed(t *testing.T) {
	deploy := "../../deploy/prometheus"
	mapTo := func(dir string) func(string) string {
		return func(p string) string { return filepath.Join(dir, filepath.Base(p)) }
	}
	problems, alerts := PrometheusProblems(filepath.Join(deploy, "prometheus.yml"), mapTo(deploy))
	if len(problems) > 0 || len(alerts) < len(wantAlerts) {
		t.Fatalf("the deployment's Prometheus: problems %v, alerts %v", problems, alerts)
	}

	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(deploy, "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(cfg), `"rewards:9004"`, `"rewards:9999"`, 1)
	write(t, dir, "prometheus.yml", broken)
	write(t, dir, "alerts.yml", `
groups:
  - name: broken
    rules:
      - alert: TreueServiceDown
        expr: up{job="treue" == 0
`)
	problems, _ = PrometheusProblems(filepath.Join(dir, "prometheus.yml"), mapTo(dir))
	for _, want := range []string{"does not scrape rewards:9004", "alerts.yml", "no alert TreueDeadLetters"} {
		if !containsOne(problems, want) {
			t.Errorf("problems %q do not report %q", problems, want)
		}
	}
}

// TestCollectorPipelines: traces that do not reach Jaeger, or an undefined exporter,
// are reported.
func TestCollectorPipelines(t *testing.T) {
	if p := CollectorProblems("../../deploy/otel-collector/config.yaml"); len(p) > 0 {
		t.Fatalf("the deployment's collector: %v", p)
	}
	dir := t.TempDir()
	write(t, dir, "config.yaml", `
receivers:
  otlp: {protocols: {grpc: {}}}
exporters:
  debug: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
    metrics: {receivers: [otlp], exporters: [prometheus]}
`)
	problems := CollectorProblems(filepath.Join(dir, "config.yaml"))
	for _, want := range []string{"jaeger:4317", `exporter "prometheus" is used but not defined`} {
		if !containsOne(problems, want) {
			t.Errorf("problems %q do not report %q", problems, want)
		}
	}
}

// TestDashboardQueries: a panel off the provisioned datasource or with a query that is
// not PromQL is reported; Grafana's $__range is accepted.
func TestDashboardQueries(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "d.json", `{"uid": "d", "title": "D", "panels": [
		{"type": "row", "title": "r", "panels": [
			{"type": "stat", "title": "good", "datasource": {"uid": "prometheus"},
			 "targets": [{"expr": "sum(increase(treue_ledger_purchases_booked_total[$__range]))"}]}]},
		{"type": "timeseries", "title": "elsewhere", "datasource": {"uid": "other"},
		 "targets": [{"expr": "up"}]},
		{"type": "timeseries", "title": "bad query", "datasource": {"uid": "prometheus"},
		 "targets": [{"expr": "sum(rate(x[5m])"}]}]}`)
	problems := DashboardProblems(filepath.Join(dir, "d.json"))
	if len(problems) != 2 || !containsOne(problems, `"elsewhere" is not on the datasource`) || !containsOne(problems, `"bad query"`) {
		t.Fatalf("problems %q, want the two bad panels", problems)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func containsOne(problems []string, part string) bool {
	for _, p := range problems {
		if strings.Contains(p, part) {
			return true
		}
	}
	return false
}

// TestSurveyMail: survey emails that would go nowhere, to a service the file lacks, or in
// the clear over the internet are reported; the catcher and a relay with TLS are not.
func TestSurveyMail(t *testing.T) {
	project := func(addr, tls string, deps ...string) *types.Project {
		s := types.ServiceConfig{Name: "survey"}
		s.Environment = types.MappingWithEquals{"SURVEY_SMTP_ADDR": &addr, "SURVEY_SMTP_TLS": &tls}
		s.DependsOn = types.DependsOnConfig{}
		for _, d := range deps {
			s.DependsOn[d] = types.ServiceDependency{Condition: types.ServiceConditionStarted}
		}
		return &types.Project{Services: types.Services{"survey": s, "mailpit": {Name: "mailpit"}}}
	}
	for _, tt := range []struct {
		p    *types.Project
		want string // "" for none
	}{
		{project("mailpit:1025", "none", "mailpit"), ""},
		{project("smtp.example.com:587", "starttls"), ""},
		{project("", "none"), "no email is sent"},
		{project("mailbox:1025", "none", "mailbox"), "names no service"},
		{project("mailpit:1025", "none"), "must depend on mailpit"},
		{project("smtp.example.com:587", "none"), "SURVEY_SMTP_TLS is none"},
		{project("smtp.example.com", "tls"), "not host:port"},
	} {
		c := &checker{}
		c.checkSurveyMail(tt.p)
		addr := *tt.p.Services["survey"].Environment["SURVEY_SMTP_ADDR"]
		switch {
		case tt.want == "" && len(c.problems) > 0:
			t.Errorf("%s: %v", addr, c.problems)
		case tt.want != "" && !containsOne(c.problems, tt.want):
			t.Errorf("%s: problems %q do not report %q", addr, c.problems, tt.want)
		}
	}
}
