package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// adminPorts are the services' admin HTTP ports (<SERVICE>_ADMIN_ADDR): /metrics,
// /healthz, /readyz. Prometheus scrapes them inside the compose network.
var adminPorts = map[string]int{"ledger": 9001, "survey": 9002, "feedback": 9003, "rewards": 9004, "reporting": 9005}

// observability are the services operators watch the system with, each with the
// container port it must publish (on 127.0.0.1, as every port).
var observability = map[string]int{"otel-collector": 4317, "prometheus": 9090, "grafana": 3000, "jaeger": 16686}

// wantAlerts are the alerts the deployment must define.
var wantAlerts = []string{
	"TreueServiceDown", "TreueServiceNotReady", "TreueConsumerLagGrowing", "TreueDeadLetters",
	"TreueOutboxStuck", "TreueGRPCErrorRate", "TreueSecurityRefusalsSpike",
}

const collectorEndpoint = "http://otel-collector:4317"

// quiet is the logger handed to Prometheus's loaders: their warnings are not ours.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// promql parses expressions as the pinned Prometheus does.
var promql = parser.NewParser(parser.Options{})

// checkObservability checks the services' telemetry settings, the observability
// services, that every file the compose file mounts exists, and the configuration
// files of Prometheus (its own loader and rule parser), the collector and Grafana.
func (c *checker) checkObservability(p *types.Project) {
	for name, port := range adminPorts {
		s, ok := p.Services[name]
		if !ok {
			continue
		}
		env := func(k string) string {
			if v := s.Environment[k]; v != nil {
				return *v
			}
			return ""
		}
		if k, want := strings.ToUpper(name)+"_ADMIN_ADDR", fmt.Sprintf("0.0.0.0:%d", port); env(k) != want {
			c.fail("%s: %s=%q, want %q (Prometheus scrapes it)", name, k, env(k), want)
		}
		if got := env("OTEL_EXPORTER_OTLP_ENDPOINT"); got != collectorEndpoint {
			c.fail("%s: OTEL_EXPORTER_OTLP_ENDPOINT=%q, want %q", name, got, collectorEndpoint)
		}
	}
	for name, port := range observability {
		s, ok := p.Services[name]
		if !ok {
			c.fail("service %s missing", name)
			continue
		}
		if _, ok := imageVersion(s.Image); !ok {
			c.fail("%s: image %q; pin a version tag", name, s.Image)
		}
		if !slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool { return int(pc.Target) == port }) {
			c.fail("%s: container port %d is not published", name, port)
		}
	}
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				c.fail("%s: mounts %s, which does not exist", name, v.Source)
			}
		}
	}
	if s, ok := p.Services["prometheus"]; ok {
		c.checkPrometheus(s)
	}
	if s, ok := p.Services["otel-collector"]; ok {
		c.checkCollector(s)
	}
	if s, ok := p.Services["grafana"]; ok {
		c.checkGrafana(s)
	}
}

// hostPath maps a path inside a container to the file the compose file mounts there;
// "" when no bind mount provides it.
func hostPath(s types.ServiceConfig, path string) string {
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if path == v.Target {
			return v.Source
		}
		if rel, ok := strings.CutPrefix(path, strings.TrimSuffix(v.Target, "/")+"/"); ok {
			return filepath.Join(v.Source, rel)
		}
	}
	return ""
}

// flagValue is the value of --name=value or --name value in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func (c *checker) checkPrometheus(s types.ServiceConfig) {
	path := flagValue(s.Command, "--config.file")
	if path == "" {
		path = "/etc/prometheus/prometheus.yml" // the image's default
	}
	file := hostPath(s, path)
	if file == "" {
		c.fail("prometheus: no bind mount provides %s", path)
		return
	}
	problems, _ := PrometheusProblems(file, func(p string) string { return hostPath(s, p) })
	for _, p := range problems {
		c.fail("prometheus: %s", p)
	}
}

// PrometheusProblems loads a Prometheus configuration with Prometheus's own loader and
// its rule files with its rule parser (file maps a path the configuration names to the
// file on this machine), and checks that it scrapes every service's admin port and
// defines the wanted alerts. It returns what is wrong and the alerts it found.
func PrometheusProblems(file string, mapPath func(string) string) (problems []string, alerts []string) {
	cfg, err := promconfig.LoadFile(file, false, quiet)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", file, err)}, nil
	}
	targets := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, d := range sc.ServiceDiscoveryConfigs {
			static, ok := d.(discovery.StaticConfig)
			if !ok {
				continue
			}
			for _, g := range static {
				for _, t := range g.Targets {
					targets[string(t[model.AddressLabel])] = true
				}
			}
		}
	}
	for name, port := range adminPorts {
		if t := fmt.Sprintf("%s:%d", name, port); !targets[t] {
			problems = append(problems, fmt.Sprintf("%s: does not scrape %s", file, t))
		}
	}
	if len(cfg.RuleFiles) == 0 {
		problems = append(problems, file+": no rule_files")
	}
	for _, pattern := range cfg.RuleFiles {
		rules := mapPath(pattern)
		if rules == "" {
			problems = append(problems, fmt.Sprintf("%s: rule file %s is not mounted", file, pattern))
			continue
		}
		groups, errs := rulefmt.ParseFile(rules, false, model.UTF8Validation, promql, quiet)
		for _, err := range errs {
			problems = append(problems, err.Error())
		}
		if groups == nil {
			continue
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					alerts = append(alerts, r.Alert)
				}
			}
		}
	}
	for _, a := range wantAlerts {
		if !slices.Contains(alerts, a) {
			problems = append(problems, fmt.Sprintf("%s: no alert %s", file, a))
		}
	}
	return problems, alerts
}

func (c *checker) checkCollector(s types.ServiceConfig) {
	path := ""
	for _, a := range s.Command {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			path = v
		}
	}
	if path == "" {
		path = flagValue(s.Command, "--config")
	}
	file := hostPath(s, path)
	if path == "" || file == "" {
		c.fail("otel-collector: command %v names no mounted --config", s.Command)
		return
	}
	for _, p := range CollectorProblems(file) {
		c.fail("otel-collector: %s", p)
	}
}

// collectorConfig is the part of an OpenTelemetry Collector configuration checked here.
type collectorConfig struct {
	Receivers  map[string]any            `yaml:"receivers"`
	Processors map[string]any            `yaml:"processors"`
	Exporters  map[string]map[string]any `yaml:"exporters"`
	Extensions map[string]any            `yaml:"extensions"`
	Service    struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Receivers  []string `yaml:"receivers"`
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
		Telemetry any `yaml:"telemetry"`
	} `yaml:"service"`
}

// CollectorProblems checks a collector configuration as YAML: a traces pipeline from
// OTLP to Jaeger over OTLP, a metrics pipeline from OTLP to the Prometheus exporter, and
// every component a pipeline names defined.
func CollectorProblems(file string) []string {
	b, err := os.ReadFile(file)
	if err != nil {
		return []string{err.Error()}
	}
	var cfg collectorConfig
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return []string{fmt.Sprintf("%s: %v", file, err)}
	}
	var problems []string
	fail := func(format string, args ...any) {
		problems = append(problems, file+": "+fmt.Sprintf(format, args...))
	}
	defined := func(kind string, set map[string]any, names []string) {
		for _, n := range names {
			if _, ok := set[n]; !ok {
				fail("%s %q is used but not defined", kind, n)
			}
		}
	}
	exporters := map[string]any{}
	for k, v := range cfg.Exporters {
		exporters[k] = v
	}
	defined("extension", cfg.Extensions, cfg.Service.Extensions)
	for name, p := range cfg.Service.Pipelines {
		if len(p.Receivers) == 0 || len(p.Exporters) == 0 {
			fail("pipeline %s needs receivers and exporters", name)
		}
		defined("receiver", cfg.Receivers, p.Receivers)
		defined("processor", cfg.Processors, p.Processors)
		defined("exporter", exporters, p.Exporters)
	}
	traces, ok := cfg.Service.Pipelines["traces"]
	if !ok || !slices.Contains(traces.Receivers, "otlp") {
		fail("no traces pipeline receiving otlp")
	}
	toJaeger := slices.ContainsFunc(traces.Exporters, func(e string) bool {
		return (e == "otlp" || strings.HasPrefix(e, "otlp/")) && cfg.Exporters[e]["endpoint"] == "jaeger:4317"
	})
	if !toJaeger {
		fail("the traces pipeline does not export over OTLP to jaeger:4317")
	}
	metrics, ok := cfg.Service.Pipelines["metrics"]
	if !ok || !slices.Contains(metrics.Receivers, "otlp") || !slices.Contains(metrics.Exporters, "prometheus") {
		fail("no metrics pipeline from otlp to the prometheus exporter")
	}
	return problems
}

func (c *checker) checkGrafana(s types.ServiceConfig) {
	provisioning := hostPath(s, "/etc/grafana/provisioning")
	if provisioning == "" {
		c.fail("grafana: /etc/grafana/provisioning is not mounted")
		return
	}
	for _, p := range GrafanaProblems(provisioning, func(p string) string { return hostPath(s, p) }) {
		c.fail("grafana: %s", p)
	}
}

// grafanaVariable matches Grafana's interval variables, which PromQL does not know.
var grafanaVariable = regexp.MustCompile(`\$__(range|rate_interval|interval)\b|\$\{__(range|rate_interval|interval)\}`)

// GrafanaProblems checks Grafana's provisioning: a Prometheus datasource with the uid
// prometheus, a dashboards provider whose folder is mounted, and every dashboard in it:
// JSON, every panel on the datasource prometheus, every query valid PromQL.
func GrafanaProblems(provisioning string, mapPath func(string) string) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	dsFile := filepath.Join(provisioning, "datasources", "prometheus.yml")
	if err := readYAML(dsFile, &ds); err != nil {
		fail("%v", err)
	} else if !slices.ContainsFunc(ds.Datasources, func(d struct {
		UID  string `yaml:"uid"`
		Type string `yaml:"type"`
		URL  string `yaml:"url"`
	}) bool {
		return d.UID == "prometheus" && d.Type == "prometheus" && d.URL == "http://prometheus:9090"
	}) {
		fail("%s: no prometheus datasource with uid prometheus at http://prometheus:9090", dsFile)
	}

	var dp struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	dpFile := filepath.Join(provisioning, "dashboards", "treue.yml")
	if err := readYAML(dpFile, &dp); err != nil {
		fail("%v", err)
		return problems
	}
	dashboards := 0
	for _, p := range dp.Providers {
		dir := mapPath(p.Options.Path)
		if dir == "" {
			fail("%s: dashboards path %s is not mounted", dpFile, p.Options.Path)
			continue
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			dashboards++
			problems = append(problems, DashboardProblems(f)...)
		}
	}
	if dashboards == 0 {
		fail("%s: no dashboards", dpFile)
	}
	return problems
}

// dashboardPanel is what is checked of a panel (rows hold panels of their own).
type dashboardPanel struct {
	Title      string `json:"title"`
	Type       string `json:"type"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

// DashboardProblems checks one dashboard file.
func DashboardProblems(file string) []string {
	b, err := os.ReadFile(file)
	if err != nil {
		return []string{err.Error()}
	}
	var d struct {
		UID    string           `json:"uid"`
		Title  string           `json:"title"`
		Panels []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return []string{fmt.Sprintf("%s: %v", file, err)}
	}
	var problems []string
	if d.UID == "" || d.Title == "" {
		problems = append(problems, file+": no uid or title")
	}
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "prometheus" {
				problems = append(problems, fmt.Sprintf("%s: panel %q is not on the datasource prometheus", file, p.Title))
			}
			if len(p.Targets) == 0 {
				problems = append(problems, fmt.Sprintf("%s: panel %q has no query", file, p.Title))
			}
			for _, t := range p.Targets {
				if _, err := promql.ParseExpr(grafanaVariable.ReplaceAllString(t.Expr, "5m")); err != nil {
					problems = append(problems, fmt.Sprintf("%s: panel %q: %s: %v", file, p.Title, t.Expr, err))
				}
			}
		}
	}
	walk(d.Panels)
	return problems
}

func readYAML(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}
