// Command composecheck validates the container deployment without a Docker engine: it loads
// docker-compose.yml with the Compose Specification's own loader (schema, interpolation,
// required variables, consistency, the same code `docker compose config` runs), checks the
// deployment's rules on the result, parses the NATS command line and config file with
// nats-server's own option parser, converts deploy/Dockerfile with BuildKit's Dockerfile
// frontend for every service's build arguments (syntax, variables, stages, lint rules),
// and checks the observability stack: every mounted file exists, Prometheus's
// configuration and alert rules load with Prometheus's own loader and rule parser, the
// collector's pipelines hang together, and Grafana's dashboards are valid PromQL on the
// provisioned datasource.
//
// scripts/compose-check.sh runs it as GOWORK=off go -C scripts/composecheck run . -root ../..
// (the module is not part of go.work so its tooling dependencies never reach the services'
// build list).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"
	"golang.org/x/mod/modfile"
)

// appServices are the Treue services with their gRPC, HTTP (0: none) and admin ports.
var appServices = map[string][3]int{
	"ledger":    {7001, 0, 9001},
	"survey":    {7002, 8082, 9002},
	"feedback":  {7003, 8083, 9003},
	"rewards":   {7004, 0, 9004},
	"reporting": {7005, 8085, 9005},
}

// requiredVars must stop `docker compose` when unset, rather than start a service without
// keys or secrets.
var requiredVars = []string{"API_KEYS", "SERVICE_API_KEY", "FEEDBACK_REWARDS_API_KEY", "SURVEY_TOKEN_SECRET", "GRAFANA_ADMIN_PASSWORD",
	"NATS_SEED_LEDGER", "NATS_SEED_SURVEY", "NATS_SEED_FEEDBACK", "NATS_SEED_REWARDS", "NATS_SEED_REPORTING"}

// The oldest NATS server the deployment accepts.
var minNATS = [3]int{2, 12, 3}

func main() {
	root := flag.String("root", ".", "repository root (the build context)")
	composeFile := flag.String("f", "docker-compose.yml", "compose file, relative to -root")
	envExample := flag.String("env-example", ".env.example", "example env file to check against the compose file, relative to -root; empty to skip")
	flag.Parse()

	c := &checker{root: *root}
	c.run(*composeFile, *envExample)
	if len(c.problems) > 0 {
		for _, p := range c.problems {
			fmt.Fprintln(os.Stderr, "composecheck:", p)
		}
		fmt.Fprintf(os.Stderr, "composecheck: %d problem(s)\n", len(c.problems))
		os.Exit(1)
	}
	fmt.Println("composecheck: ok")
}

type checker struct {
	root     string
	problems []string
}

func (c *checker) fail(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) run(composeFile, envExample string) {
	ctx := context.Background()
	dummies := map[string]string{}
	for _, v := range requiredVars {
		dummies[v] = "dummy"
	}
	// A syntactically valid key list, so the services' own checks below have something to read.
	dummies["API_KEYS"] = "check:admin:" + strings.Repeat("0", 64)

	project, err := c.load(ctx, composeFile, dummies)
	if err != nil {
		c.fail("%s: %v", composeFile, err)
		return
	}
	fmt.Printf("composecheck: %s loads (services: %s)\n", composeFile, strings.Join(project.ServiceNames(), ", "))

	// The loads below are meant to fail; their "variable is not set" warnings are noise.
	level := logrus.GetLevel()
	logrus.SetLevel(logrus.ErrorLevel)
	for _, v := range requiredVars {
		env := map[string]string{}
		for k, val := range dummies {
			if k != v {
				env[k] = val
			}
		}
		if _, err := c.load(ctx, composeFile, env); err == nil || !strings.Contains(err.Error(), v) {
			c.fail("%s: loads without %s (err: %v); it must be required with ${%s:?...}", composeFile, v, err, v)
		}
	}
	logrus.SetLevel(level)

	c.checkProject(project)
	c.checkNATS(project)
	c.checkObservability(project)
	c.checkDockerfile(ctx, project)
	if envExample != "" {
		c.checkEnvExample(ctx, composeFile, envExample)
	}
}

// load mirrors `docker compose -f file config`, with env as the whole environment: neither
// the caller's environment nor a local .env can hide a missing variable.
func (c *checker) load(ctx context.Context, file string, env map[string]string) (*types.Project, error) {
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(c.root, file)},
		cli.WithWorkingDirectory(c.root),
		cli.WithDiscardEnvFile,
		cli.WithEnv(kv),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(ctx)
}

func (c *checker) checkProject(p *types.Project) {
	for _, name := range []string{"postgres", "nats"} {
		s, ok := p.Services[name]
		if !ok {
			c.fail("service %s missing", name)
			continue
		}
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 || s.HealthCheck.Disable {
			c.fail("%s: no healthcheck; the services wait for it", name)
		}
	}
	if pg, ok := p.Services["postgres"]; ok {
		if v := pg.Environment["POSTGRES_HOST_AUTH_METHOD"]; v != nil && *v == "trust" {
			c.fail("postgres: POSTGRES_HOST_AUTH_METHOD=trust")
		}
		if v := pg.Environment["POSTGRES_PASSWORD"]; v == nil || *v == "" {
			c.fail("postgres: POSTGRES_PASSWORD unset")
		}
		if v := pg.Environment["POSTGRES_DB"]; v == nil || *v != "treue" {
			c.fail("postgres: POSTGRES_DB must be treue")
		}
	}

	for name, s := range p.Services {
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				c.fail("%s: port %d published on %q; publish on 127.0.0.1 only", name, port.Target, port.HostIP)
			}
		}
		if s.Restart != "unless-stopped" {
			c.fail("%s: restart %q, want unless-stopped", name, s.Restart)
		}
	}

	for name, ports := range appServices {
		s, ok := p.Services[name]
		if !ok {
			c.fail("service %s missing", name)
			continue
		}
		if s.Build == nil {
			c.fail("%s: no build section", name)
			continue
		}
		if s.Build.Context != c.abs(".") || s.Build.Dockerfile != "deploy/Dockerfile" {
			c.fail("%s: build %s -f %s, want the repository root with deploy/Dockerfile", name, s.Build.Context, s.Build.Dockerfile)
		}
		if arg := s.Build.Args["SERVICE"]; arg == nil || *arg != name {
			c.fail("%s: build arg SERVICE must be %s", name, name)
		}
		for _, dep := range []string{"postgres", "nats"} {
			if d, ok := s.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
				c.fail("%s: must depend on %s with condition service_healthy", name, dep)
			}
		}
		env := func(k string) string {
			if v := s.Environment[k]; v != nil {
				return *v
			}
			return ""
		}
		upper := strings.ToUpper(name)
		want := map[string]string{
			upper + "_GRPC_ADDR": fmt.Sprintf("0.0.0.0:%d", ports[0]),
			"NATS_URL":           "nats://nats:4222",
		}
		published := []int{ports[0]}
		if ports[1] != 0 {
			want[upper+"_HTTP_ADDR"] = fmt.Sprintf("0.0.0.0:%d", ports[1])
			published = append(published, ports[1])
		}
		// The admin port (metrics, health): for Prometheus and the operator, on loopback.
		want[upper+"_ADMIN_ADDR"] = fmt.Sprintf("0.0.0.0:%d", ports[2])
		published = append(published, ports[2])
		for k, v := range want {
			if env(k) != v {
				c.fail("%s: %s=%q, want %q", name, k, env(k), v)
			}
		}
		if !strings.HasPrefix(env("DATABASE_URL"), "postgres://postgres:") || !strings.Contains(env("DATABASE_URL"), "@postgres:5432/treue?") {
			c.fail("%s: DATABASE_URL %q does not point at the compose postgres's treue database", name, env("DATABASE_URL"))
		}
		if env("API_KEYS") == "" {
			c.fail("%s: API_KEYS unset", name)
		}
		var got []int
		for _, port := range s.Ports {
			got = append(got, int(port.Target))
		}
		slices.Sort(got)
		if !slices.Equal(got, published) {
			c.fail("%s: publishes container ports %v, want %v", name, got, published)
		}
	}
	if r, ok := p.Services["rewards"]; ok {
		if v := r.Environment["REWARDS_LEDGER_ADDR"]; v == nil || *v != "ledger:7001" {
			c.fail("rewards: REWARDS_LEDGER_ADDR must be ledger:7001")
		}
	}
	c.checkSurveyMail(p)
}

// checkSurveyMail: the survey's emails go somewhere by default, to a server of this file
// (the SMTP catcher) unless .env names a relay by its domain name, and a catcher is
// spoken to without TLS only inside the compose network.
func (c *checker) checkSurveyMail(p *types.Project) {
	s, ok := p.Services["survey"]
	if !ok {
		return
	}
	env := func(k string) string {
		if v := s.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	addr := env("SURVEY_SMTP_ADDR")
	host, _, err := net.SplitHostPort(addr)
	switch {
	case addr == "":
		c.fail("survey: SURVEY_SMTP_ADDR is empty: no email is sent; default it to the SMTP catcher of the file")
	case err != nil:
		c.fail("survey: SURVEY_SMTP_ADDR %q is not host:port", addr)
	case !strings.Contains(host, "."):
		if _, ok := p.Services[host]; !ok {
			c.fail("survey: SURVEY_SMTP_ADDR %q names no service of the file", addr)
		}
	case env("SURVEY_SMTP_TLS") == "none":
		c.fail("survey: SURVEY_SMTP_ADDR %q is outside the compose network but SURVEY_SMTP_TLS is none", addr)
	}
	if _, ok := s.DependsOn[host]; !strings.Contains(host, ".") && host != "" && !ok {
		c.fail("survey: must depend on %s, its SMTP server", host)
	}
}

// checkNATS runs the compose command line, with the mounted config file mapped back to the
// repository, through nats-server's own option parser.
func (c *checker) checkNATS(p *types.Project) {
	s, ok := p.Services["nats"]
	if !ok {
		return
	}
	if v, ok := imageVersion(s.Image); !ok || less(v, minNATS) {
		c.fail("nats: image %q; pin a version tag of %d.%d.%d or later", s.Image, minNATS[0], minNATS[1], minNATS[2])
	}
	args := slices.Clone([]string(s.Command))
	if len(args) > 0 && args[0] == "nats-server" {
		args = args[1:]
	}
	for i, a := range args {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind && a == v.Target {
				args[i] = v.Source
			}
		}
		if strings.HasPrefix(a, "/etc/") && args[i] == a {
			c.fail("nats: command names %s, which no bind mount provides", a)
		}
	}
	fs := flag.NewFlagSet("nats-server", flag.ContinueOnError)
	opts, err := server.ConfigureOptions(fs, args, func() {}, func() {}, func() {})
	if err != nil {
		c.fail("nats: command %v: %v", s.Command, err)
		return
	}
	if !opts.JetStream {
		c.fail("nats: JetStream is off")
	}
	if !opts.SyncAlways {
		c.fail("nats: JetStream sync_interval is not always")
	}
	if opts.StoreDir != "/data" {
		c.fail("nats: store dir %q, want /data (the volume)", opts.StoreDir)
	}
	if opts.HTTPPort != 8222 {
		c.fail("nats: monitoring port %d, want 8222 (the healthcheck's)", opts.HTTPPort)
	}
	hasVolume := slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Target == "/data" && v.Type == types.VolumeTypeVolume
	})
	if !hasVolume {
		c.fail("nats: /data is not a named volume; streams would die with the container")
	}
	if s.HealthCheck != nil && !strings.Contains(strings.Join(s.HealthCheck.Test, " "), ":8222/healthz") {
		c.fail("nats: healthcheck %v does not probe /healthz on 8222", s.HealthCheck.Test)
	}
}

var versionTag = regexp.MustCompile(`:v?(\d+)\.(\d+)\.(\d+)(-[a-z0-9.]+)?$`)

func imageVersion(image string) ([3]int, bool) {
	m := versionTag.FindStringSubmatch(image)
	if m == nil {
		return [3]int{}, false
	}
	var v [3]int
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v, true
}

func less(a, b [3]int) bool { return slices.Compare(a[:], b[:]) < 0 }

// checkDockerfile converts the Dockerfile for each service as compose builds it, and checks
// the image it describes and that every module of go.work has its go.mod copied before the
// download step.
func (c *checker) checkDockerfile(ctx context.Context, p *types.Project) {
	const path = "deploy/Dockerfile"
	dt, err := os.ReadFile(c.abs(path))
	if err != nil {
		c.fail("%v", err)
		return
	}
	for name := range appServices {
		s, ok := p.Services[name]
		if !ok || s.Build == nil {
			continue
		}
		args := map[string]string{}
		for k, v := range s.Build.Args {
			if v != nil {
				args[k] = *v
			}
		}
		var warnings []string
		res, err := dockerfile2llb.Dockerfile2LLB(ctx, dt, dockerfile2llb.ConvertOpt{
			Config:         dockerui.Config{BuildArgs: args},
			TargetPlatform: &ocispecs.Platform{OS: "linux", Architecture: "amd64"},
			MetaResolver:   offlineResolver{},
			Warn: func(rule, _, _, msg string, loc []parser.Range) {
				line := 0
				if len(loc) > 0 {
					line = loc[0].Start.Line
				}
				warnings = append(warnings, fmt.Sprintf("%s:%d: %s: %s", path, line, rule, msg))
			},
		})
		if err != nil {
			c.fail("%s for %s: %v", path, name, err)
			continue
		}
		for _, w := range warnings {
			c.fail("%s (lint, for %s)", w, name)
		}
		img := res.Image.Config
		if img.User != "nonroot" && img.User != "nonroot:nonroot" {
			c.fail("%s for %s: USER %q, want nonroot", path, name, img.User)
		}
		if !slices.Equal(img.Entrypoint, []string{"/service"}) {
			c.fail("%s for %s: ENTRYPOINT %v", path, name, img.Entrypoint)
		}
		var exposed []string
		for port := range img.ExposedPorts {
			exposed = append(exposed, port)
		}
		slices.Sort(exposed)
		want := []string{fmt.Sprintf("%d/tcp", appServices[name][0])}
		if h := appServices[name][1]; h != 0 {
			want = append(want, fmt.Sprintf("%d/tcp", h))
		}
		want = append(want, fmt.Sprintf("%d/tcp", appServices[name][2]))
		if !slices.Equal(exposed, want) {
			c.fail("%s for %s: EXPOSE %v, want %v", path, name, exposed, want)
		}
	}

	work, err := os.ReadFile(c.abs("go.work"))
	if err != nil {
		c.fail("%v", err)
		return
	}
	wf, err := modfile.ParseWork("go.work", work, nil)
	if err != nil {
		c.fail("%v", err)
		return
	}
	text := string(dt)
	download := strings.Index(text, "RUN go mod download")
	if download < 0 {
		c.fail("%s: no RUN go mod download step", path)
		return
	}
	for _, u := range wf.Use {
		dir := strings.TrimPrefix(filepath.ToSlash(u.Path), "./")
		i := strings.Index(text, "COPY "+dir+"/go.mod ")
		if i < 0 || i > download {
			c.fail("%s: go.work uses %s but its go.mod is not copied before go mod download", path, dir)
		}
	}
}

// checkEnvExample loads the compose file with only the example env file, as
// `cp .env.example .env && docker compose config` would, and checks its keys hang together.
func (c *checker) checkEnvExample(ctx context.Context, composeFile, file string) {
	env, err := dotenv.GetEnvFromFile(map[string]string{}, []string{c.abs(file)})
	if err != nil {
		c.fail("%s: %v", file, err)
		return
	}
	if _, err := c.load(ctx, composeFile, env); err != nil {
		c.fail("%s with %s: %v", composeFile, file, err)
	}
	roles := map[string][]string{}
	for _, entry := range strings.Split(env["API_KEYS"], ",") {
		parts := strings.Split(strings.TrimSpace(entry), ":")
		if len(parts) != 3 {
			c.fail("%s: API_KEYS entry %q: want name:role[+role]:sha256hex", file, entry)
			continue
		}
		if b, err := hex.DecodeString(parts[2]); err != nil || len(b) != sha256.Size {
			c.fail("%s: API_KEYS entry %q: not a hex SHA-256", file, entry)
		}
		roles[strings.ToLower(parts[2])] = strings.Split(parts[1], "+")
	}
	if n := len(env["SURVEY_TOKEN_SECRET"]); n < 32 {
		c.fail("%s: SURVEY_TOKEN_SECRET has %d bytes; survey wants at least 32", file, n)
	}
	for _, k := range []struct{ name, role string }{{"SERVICE_API_KEY", "service"}, {"FEEDBACK_REWARDS_API_KEY", "goodwill"}} {
		sum := sha256.Sum256([]byte(env[k.name]))
		if !slices.Contains(roles[hex.EncodeToString(sum[:])], k.role) {
			c.fail("%s: the SHA-256 of %s is not in API_KEYS with the role %s", file, k.name, k.role)
		}
	}
}

// offlineResolver stands in for a registry: base images resolve to an empty config, so
// the conversion needs no network and the image config is what the Dockerfile itself sets.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers"}}`)
	return ref, digest.FromBytes(cfg), cfg, nil
}

func (c *checker) abs(rel string) string {
	p, err := filepath.Abs(filepath.Join(c.root, rel))
	if err != nil {
		return filepath.Join(c.root, rel)
	}
	return p
}
