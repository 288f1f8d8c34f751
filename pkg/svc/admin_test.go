package svc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/telemetry"
	"github.com/treue/treue/pkg/testkit"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
)

func credited(id string) *ledgerv1.PointsCredited {
	return &ledgerv1.PointsCredited{TransactionId: id, MemberId: "m1", Points: 10,
		Reason: ledgerv1.PointsReason_POINTS_REASON_PURCHASE, OccurredAt: timestamppb.Now()}
}

// adminService runs a service with one consumer of PointsCredited whose handler is
// handle, and returns its runtime once it runs.
func adminService(t *testing.T, ctx context.Context, base svc.Base, log *slog.Logger, consumer string, handle func(context.Context, []bus.Delivery[*ledgerv1.PointsCredited]) error) *svc.Runtime {
	t.Helper()
	var rt *svc.Runtime
	// Named after the consumer, so that the metrics of parallel tests stay apart.
	s, err := svc.Wire(ctx, base, svc.Options{Name: consumer, Schema: consumer}, log, func(r *svc.Runtime) error {
		rt = r
		return r.Consume(bus.ConsumerConfig{Name: consumer, Routes: []bus.Route{bus.On(handle)}, BatchSize: 5})
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !strings.Contains(err.Error(), "nats") {
			t.Errorf("Run: %v", err)
		}
	})
	if s.AdminAddr() == "" || s.AdminAddr() != rt.AdminAddr() {
		t.Fatalf("admin address %q", s.AdminAddr())
	}
	waitReady(t, rt.AdminAddr(), true)
	return rt
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func report(t *testing.T, addr, path string) (int, svc.Report) {
	t.Helper()
	code, body := get(t, "http://"+addr+path)
	var rep svc.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("%s: %s is not a report: %v", path, body, err)
	}
	return code, rep
}

func waitReady(t *testing.T, addr string, ready bool) svc.Report {
	t.Helper()
	var rep svc.Report
	testkit.Eventually(t, 20*time.Second, "readiness to become "+map[bool]string{true: "true", false: "false"}[ready], func() bool {
		var code int
		code, rep = report(t, addr, "/readyz")
		return rep.OK == ready && (code == http.StatusOK) == ready
	})
	return rep
}

func failing(rep svc.Report, name string) bool {
	for _, c := range rep.Checks {
		if c.Name == name {
			return !c.OK
		}
	}
	return false
}

func grpcHealth(t *testing.T, rt *svc.Runtime) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	conn, err := grpc.NewClient(rt.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	resp, err := healthpb.NewHealthClient(conn).Check(testkit.Ctx(t), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetStatus()
}

// When NATS goes away the service is not ready, in /readyz and in the gRPC health
// service, but it is alive: a restart would not bring NATS back.
func TestReadinessFollowsNATSAndLivenessDoesNot(t *testing.T) {
	t.Parallel()
	// A server of this test's own, whatever NATS_URL says: the test stops it.
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(), NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	stopNATS := sync.OnceFunc(func() { ns.Shutdown(); ns.WaitForShutdown() })
	t.Cleanup(stopNATS)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	natsURL := ns.ClientURL()
	base := svc.Base{DatabaseURL: testkit.Database(t), NATSURL: natsURL, Namespace: testkit.Namespace(t),
		GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DBMaxConns: 2}
	rt := adminService(t, context.Background(), base, testkit.Logger(t), "natsgone",
		func(context.Context, []bus.Delivery[*ledgerv1.PointsCredited]) error { return nil })
	rep := waitReady(t, rt.AdminAddr(), true)
	for _, name := range []string{"postgres", "nats", "jetstream", "outbox_relay", "consumer:natsgone"} {
		found := false
		for _, c := range rep.Checks {
			found = found || c.Name == name
		}
		if !found {
			t.Errorf("readiness does not check %s: %+v", name, rep.Checks)
		}
	}
	testkit.Eventually(t, 10*time.Second, "gRPC health SERVING", func() bool {
		return grpcHealth(t, rt) == healthpb.HealthCheckResponse_SERVING
	})

	stopNATS()
	waitReady(t, rt.AdminAddr(), false)
	testkit.Eventually(t, 20*time.Second, "readiness to blame the NATS connection", func() bool {
		_, rep = report(t, rt.AdminAddr(), "/readyz")
		return failing(rep, "nats") && failing(rep, "jetstream")
	})
	if failing(rep, "postgres") {
		t.Errorf("readiness %+v blames Postgres", rep.Checks)
	}
	testkit.Eventually(t, 10*time.Second, "gRPC health NOT_SERVING", func() bool {
		return grpcHealth(t, rt) == healthpb.HealthCheckResponse_NOT_SERVING
	})
	if code, live := report(t, rt.AdminAddr(), "/healthz"); code != http.StatusOK || !live.OK {
		t.Errorf("/healthz = %d %+v with NATS gone, want 200", code, live)
	}
	fams := scrape(t, rt.AdminAddr())
	ready := func(check string) float64 {
		return gaugeWith(fams, "treue_service_ready", map[string]string{"check": check, "db_schema": "natsgone"})
	}
	if nats, pg := ready("nats"), ready("postgres"); nats != 0 || pg != 1 {
		t.Errorf("treue_service_ready nats=%v postgres=%v, want 0 and 1", nats, pg)
	}
}

// A consumer whose batches fail again and again makes the service not ready; when it
// recovers, the service is ready again. Liveness holds throughout.
func TestReadinessReportsAConsumerInAFailureLoop(t *testing.T) {
	t.Parallel()
	env := testkit.NewEnv(t)
	base := env.Base()
	base.Hooks = svc.ConsumerHooks{Backoff: []time.Duration{20 * time.Millisecond}, MaxDeliver: 1000}
	var broken atomic.Bool
	broken.Store(true)
	rt := adminService(t, context.Background(), base, testkit.Logger(t), "looping",
		func(context.Context, []bus.Delivery[*ledgerv1.PointsCredited]) error {
			if broken.Load() {
				return errors.New("the rewards table is locked")
			}
			return nil
		})
	sent := env.PublishEvent("", credited("loop-1"))
	rep := waitReady(t, rt.AdminAddr(), false)
	if !failing(rep, "consumer:looping") {
		t.Fatalf("readiness %+v does not blame the consumer", rep.Checks)
	}
	for _, c := range rep.Checks {
		if c.Name == "consumer:looping" && !strings.Contains(c.Error, "the rewards table is locked") {
			t.Errorf("the check says %q, not the consumer's error", c.Error)
		}
	}
	if code, live := report(t, rt.AdminAddr(), "/healthz"); code != http.StatusOK || !live.OK {
		t.Errorf("/healthz = %d %+v, want 200: failing batches are not a stuck process", code, live)
	}
	broken.Store(false)
	env.WaitHandled("looping", sent)
	waitReady(t, rt.AdminAddr(), true)
}

// A consumer stuck in one batch fails liveness, naming it; once the batch ends the
// process is alive again.
func TestLivenessReportsALoopStuckInOneBatch(t *testing.T) {
	t.Parallel()
	env := testkit.NewEnv(t)
	base := env.Base()
	base.Hooks.WedgedAfter = 300 * time.Millisecond
	release := make(chan struct{})
	rt := adminService(t, context.Background(), base, testkit.Logger(t), "stuck",
		func(context.Context, []bus.Delivery[*ledgerv1.PointsCredited]) error {
			<-release
			return nil
		})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // runs before the service stops
	if code, live := report(t, rt.AdminAddr(), "/healthz"); code != http.StatusOK || !live.OK {
		t.Fatalf("/healthz = %d %+v before any work", code, live)
	}
	sent := env.PublishEvent("", credited("stuck-1"))
	var live svc.Report
	testkit.Eventually(t, 10*time.Second, "/healthz to fail", func() bool {
		var code int
		code, live = report(t, rt.AdminAddr(), "/healthz")
		return code == http.StatusServiceUnavailable
	})
	if !failing(live, "consumer:stuck") || failing(live, "outbox_relay") {
		t.Errorf("liveness %+v does not blame the stuck consumer alone", live.Checks)
	}
	once.Do(func() { close(release) })
	env.WaitHandled("stuck", sent)
	if code, live := report(t, rt.AdminAddr(), "/healthz"); code != http.StatusOK || !live.OK {
		t.Errorf("/healthz = %d %+v once the batch ended", code, live)
	}
}

// syncBuffer is a log sink written by the service and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func putLevel(t *testing.T, addr, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/loglevel", strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The log level changes while the service runs, by an admin only: a debug line of the
// consumer appears after the change and not before.
func TestLogLevelChangesAtRunTime(t *testing.T) {
	t.Parallel()
	env := testkit.NewEnv(t)
	var logs syncBuffer
	level := new(slog.LevelVar)
	ctx := svc.WithLogLevel(context.Background(), level)
	rt := adminService(t, ctx, env.Base(), telemetry.NewLeveledLogger(&logs, "adminsvc", level), "levelled",
		func(context.Context, []bus.Delivery[*ledgerv1.PointsCredited]) error { return nil })
	addr := rt.AdminAddr()

	env.WaitHandled("levelled", env.PublishEvent("", credited("before")))
	if strings.Contains(logs.String(), `"batch applied"`) {
		t.Fatal("a debug line was logged at level info")
	}
	if code, body := get(t, "http://"+addr+"/loglevel"); code != http.StatusOK || !strings.Contains(string(body), `"INFO"`) {
		t.Fatalf("GET /loglevel = %d %s", code, body)
	}
	for _, c := range []struct {
		key, body string
		want      int
	}{
		{"", "debug", http.StatusUnauthorized},
		{"not-a-key", "debug", http.StatusUnauthorized},
		{env.Key("auditor"), "debug", http.StatusForbidden},
		{env.Key("admin"), "loud", http.StatusBadRequest},
	} {
		if code, body := putLevel(t, addr, c.key, c.body); code != c.want {
			t.Errorf("PUT %q with key %q = %d %s, want %d", c.body, c.key, code, body, c.want)
		}
	}
	if level.Level() != slog.LevelInfo {
		t.Fatalf("a refused request changed the level to %s", level.Level())
	}
	if code, body := putLevel(t, addr, env.Key("admin"), `{"level":"debug"}`); code != http.StatusOK {
		t.Fatalf("PUT debug as admin = %d %s", code, body)
	}
	env.WaitHandled("levelled", env.PublishEvent("", credited("after")))
	testkit.Eventually(t, 5*time.Second, "a debug line after the change", func() bool {
		return strings.Contains(logs.String(), `"batch applied"`)
	})
	if code, body := get(t, "http://"+addr+"/loglevel"); !strings.Contains(string(body), `"DEBUG"`) {
		t.Errorf("GET /loglevel = %d %s after the change", code, body)
	}

	// The same over gRPC: AdminService, role admin to change it.
	api := adminv1.NewAdminServiceClient(env.Conn(rt.GRPCAddr(), "admin"))
	if got, err := api.GetLogLevel(env.As("admin"), &adminv1.GetLogLevelRequest{}); err != nil || got.GetLevel() != "DEBUG" {
		t.Fatalf("GetLogLevel = %v, %v; want DEBUG", got, err)
	}
	_, err := adminv1.NewAdminServiceClient(env.Conn(rt.GRPCAddr(), "auditor")).SetLogLevel(env.As("auditor"), &adminv1.SetLogLevelRequest{Level: "error"})
	testkit.WantCode(t, err, codes.PermissionDenied)
	_, err = api.SetLogLevel(env.As("admin"), &adminv1.SetLogLevelRequest{Level: "loud"})
	testkit.WantCode(t, err, codes.InvalidArgument)
	if !strings.Contains(err.Error(), "level") {
		t.Errorf("the error %v does not name the field", err)
	}
	if set, err := api.SetLogLevel(env.As("admin"), &adminv1.SetLogLevelRequest{Level: "Warn"}); err != nil || set.GetLevel() != "WARN" {
		t.Fatalf("SetLogLevel warn = %v, %v", set, err)
	}
	if level.Level() != slog.LevelWarn {
		t.Errorf("the level is %s after SetLogLevel warn", level.Level())
	}
}

// scrape returns the metric families of /metrics at addr.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, "http://"+addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return fams
}

// gauge returns the value of the gauge name with the label consumer, or -1 when absent.
func gauge(fams map[string]*dto.MetricFamily, name, consumer string) float64 {
	return gaugeWith(fams, name, map[string]string{"consumer": consumer})
}

// gaugeWith returns the value of the gauge name with the labels, or -1 when absent.
func gaugeWith(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	for _, m := range f.GetMetric() {
		n := 0
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				n++
			}
		}
		if n == len(want) {
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// The consumer's lag rises while messages wait and falls to 0 once they are handled;
// the batch and handler histograms record the work.
func TestMetricsShowConsumerLag(t *testing.T) {
	t.Parallel()
	env := testkit.NewEnv(t)
	release := make(chan struct{})
	rt := adminService(t, context.Background(), env.Base(), testkit.Logger(t), "lagging",
		func(ctx context.Context, _ []bus.Delivery[*ledgerv1.PointsCredited]) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // runs before the service stops
	const n = 20
	var sent []testkit.Sent
	for i := range n {
		sent = append(sent, env.PublishEvent("", credited("lag-"+string(rune('a'+i)))))
	}
	testkit.Eventually(t, 10*time.Second, "a lag of every message sent", func() bool {
		return gauge(scrape(t, rt.AdminAddr()), "treue_bus_consumer_lag", "lagging") == n
	})
	once.Do(func() { close(release) })
	env.WaitHandled("lagging", sent...)
	testkit.Eventually(t, 10*time.Second, "no lag once handled", func() bool {
		return gauge(scrape(t, rt.AdminAddr()), "treue_bus_consumer_lag", "lagging") == 0
	})
	fams := scrape(t, rt.AdminAddr())
	for _, name := range []string{"treue_bus_consumer_batch_size", "treue_bus_consumer_handler_duration_seconds"} {
		f := fams[name]
		if f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
			t.Errorf("%s is not exported as a histogram", name)
			continue
		}
		var count uint64
		for _, m := range f.GetMetric() {
			count += m.GetHistogram().GetSampleCount()
		}
		if count == 0 {
			t.Errorf("%s recorded nothing", name)
		}
	}
	if v := gauge(fams, "treue_bus_dead_letters_stored", "lagging"); v != 0 {
		t.Errorf("treue_bus_dead_letters_stored{consumer=lagging} = %v, want 0", v)
	}
	if fams["treue_bus_outbox_depth"] == nil || fams["treue_bus_outbox_oldest_age_seconds"] == nil {
		t.Error("the outbox gauges are missing")
	}
	if fams["go_goroutines"] == nil || fams["target_info"] == nil {
		t.Error("the Go runtime metrics or target_info are missing")
	}
	for _, m := range fams["treue_bus_consumer_lag"].GetMetric() {
		labelled := false
		for _, l := range m.GetLabel() {
			labelled = labelled || l.GetName() == "service_name"
		}
		if !labelled {
			t.Errorf("a lag series has no service_name label: %v", m.GetLabel())
		}
	}
}
