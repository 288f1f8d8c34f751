package svc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/telemetry"
)

// defaultAdminAddrs are the admin ports of `make run`, one per service.
var defaultAdminAddrs = map[string]string{
	"LEDGER": "127.0.0.1:9001", "SURVEY": "127.0.0.1:9002", "FEEDBACK": "127.0.0.1:9003",
	"REWARDS": "127.0.0.1:9004", "REPORTING": "127.0.0.1:9005",
}

// wedgedAfter is how long one batch of a consumer or the relay may run before liveness
// calls the process stuck. The relay gives up on a batch after 30s, and a consumer's
// batch takes seconds, so only a hung loop gets there: a restart is what it needs.
const wedgedAfter = 5 * time.Minute

// failingAfter is how many batches in a row a loop may fail before readiness reports it.
const failingAfter = 3

type logLevelKey struct{}

// WithLogLevel returns ctx carrying the level of the logger the service is given, so
// that the runtime can change it at run time (/loglevel). Main does it.
func WithLogLevel(ctx context.Context, level *slog.LevelVar) context.Context {
	return context.WithValue(ctx, logLevelKey{}, level)
}

func logLevelFrom(ctx context.Context) *slog.LevelVar {
	if lv, ok := ctx.Value(logLevelKey{}).(*slog.LevelVar); ok && lv != nil {
		return lv
	}
	// A logger built elsewhere (tests): the level is shown and kept, but gates nothing.
	return new(slog.LevelVar)
}

// AdminAddr is the address of the admin HTTP server (metrics, health, log level), or "".
func (r *Runtime) AdminAddr() string {
	if r.adminLis == nil {
		return ""
	}
	return r.adminLis.Addr().String()
}

// LogLevel is the level the service logs at, changeable while it runs.
func (r *Runtime) LogLevel() *slog.LevelVar { return r.level }

// Check is one line of a readiness or liveness answer.
type Check struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Report is the body of /readyz and /healthz.
type Report struct {
	Service string  `json:"service"`
	OK      bool    `json:"ok"`
	Checks  []Check `json:"checks"`
}

// Ready checks what the service needs to do its work: Postgres answers, NATS is
// connected and JetStream answers, the relay and every consumer run and are not failing
// batch after batch.
func (r *Runtime) Ready(ctx context.Context) Report {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	// Each check has its slot, so the answer lists them in the same order every time.
	checks := make([]Check, 3, 4+len(r.consumers))
	set := func(i int, name string, err error) {
		checks[i] = Check{Name: name, OK: err == nil}
		if err != nil {
			checks[i].Error = err.Error()
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		set(0, "postgres", r.Pool.Ping(ctx))
	}()
	go func() {
		defer wg.Done()
		if s := r.NC.Status(); s != nats.CONNECTED {
			set(1, "nats", fmt.Errorf("connection is %s", s))
			set(2, "jetstream", errors.New("NATS is not connected"))
			return
		}
		set(1, "nats", nil)
		_, err := r.JS.AccountInfo(ctx)
		set(2, "jetstream", err)
	}()
	wg.Wait()
	add := func(name string, err error) {
		checks = append(checks, Check{Name: name, OK: err == nil})
		if err != nil {
			checks[len(checks)-1].Error = err.Error()
		}
	}
	add("outbox_relay", loopReady(r.Relay.State()))
	for _, c := range r.consumers {
		add("consumer:"+c.Name(), loopReady(c.State()))
	}
	return r.report(checks)
}

func loopReady(s bus.LoopState) error {
	switch {
	case !s.Running:
		return errors.New("not running")
	case s.Failures >= failingAfter:
		return fmt.Errorf("%d batches failed in a row, the last with: %s", s.Failures, s.LastError)
	}
	return nil
}

// Live reports whether the process is worth keeping: its loops are not stuck in one
// batch. It does not look at Postgres or NATS, so that their blinking restarts nothing.
func (r *Runtime) Live() Report {
	after := wedgedAfter
	if r.hooks.WedgedAfter > 0 {
		after = r.hooks.WedgedAfter
	}
	checks := []Check{loopLive("outbox_relay", r.Relay.State(), after)}
	for _, c := range r.consumers {
		checks = append(checks, loopLive("consumer:"+c.Name(), c.State(), after))
	}
	return r.report(checks)
}

func loopLive(name string, s bus.LoopState, wedgedAfter time.Duration) Check {
	if !s.BusySince.IsZero() && time.Since(s.BusySince) > wedgedAfter {
		return Check{Name: name, Error: fmt.Sprintf("one batch has run for %s", time.Since(s.BusySince).Round(time.Second))}
	}
	return Check{Name: name, OK: true}
}

func (r *Runtime) report(checks []Check) Report {
	rep := Report{Service: r.Name, OK: true, Checks: checks}
	for _, c := range checks {
		rep.OK = rep.OK && c.OK
	}
	return rep
}

// adminHandler serves /metrics, /healthz, /readyz and /loglevel. The port is internal:
// only changing the log level asks for a key (role admin).
func (r *Runtime) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", r.metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeReport(w, r.Live())
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, req *http.Request) {
		rep := r.Ready(req.Context())
		r.lastReady.Store(&rep)
		r.setServing(rep.OK)
		writeReport(w, rep)
	})
	mux.HandleFunc("GET /loglevel", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"level": r.level.Level().String()})
	})
	set := func(w http.ResponseWriter, req *http.Request) {
		caller, code, err := grpcx.AuthorizeHTTP(r.keys, req, "admin")
		if err != nil {
			writeJSON(w, code, map[string]string{"error": err.Error()})
			return
		}
		level, err := parseLevel(req)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		old := r.level.Level()
		r.level.Set(level)
		r.Log.Info("log level changed", "from", old.String(), "to", level.String(), "by", caller.Name)
		writeJSON(w, http.StatusOK, map[string]string{"level": level.String()})
	}
	mux.HandleFunc("PUT /loglevel", set)
	mux.HandleFunc("POST /loglevel", set)
	return mux
}

// parseLevel reads a level from a body {"level":"debug"} or a bare "debug".
func parseLevel(req *http.Request) (slog.Level, error) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1024))
	if err != nil {
		return 0, err
	}
	text := strings.TrimSpace(string(body))
	if strings.HasPrefix(text, "{") {
		var v struct {
			Level string `json:"level"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return 0, fmt.Errorf("level: body is not JSON {\"level\": ...}: %v", err)
		}
		text = v.Level
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(text)); err != nil || text == "" {
		return 0, fmt.Errorf("level: %q is not one of debug, info, warn, error (an offset such as info+2 is allowed)", text)
	}
	return level, nil
}

func writeReport(w http.ResponseWriter, rep Report) {
	code := http.StatusOK
	if !rep.OK {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, rep)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// setServing keeps the gRPC health service in step with readiness.
func (r *Runtime) setServing(ok bool) {
	st := healthpb.HealthCheckResponse_SERVING
	if !ok {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	r.GRPC.Health.SetServingStatus("", st)
}

// watchReadiness checks readiness every period until ctx ends, for the gRPC health
// service, and logs each change.
func (r *Runtime) watchReadiness(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	// A first check at once, so that treue_service_ready has a value from the start; it
	// logs nothing: consumers still starting are not news.
	first, was := true, true
	for {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		rep := r.Ready(ctx)
		if ctx.Err() != nil {
			return
		}
		r.lastReady.Store(&rep)
		r.setServing(rep.OK)
		if first {
			first, was = false, rep.OK
			continue
		}
		if rep.OK != was {
			var failing []string
			for _, c := range rep.Checks {
				if !c.OK {
					failing = append(failing, c.Name+": "+c.Error)
				}
			}
			if rep.OK {
				r.Log.Info("ready again")
			} else {
				r.Log.Warn("not ready", "failing", failing)
			}
			was = rep.OK
		}
	}
}

var readyGauge = sync.OnceValue(func() metric.Int64ObservableGauge {
	g, _ := telemetry.Meter().Int64ObservableGauge("treue.service.ready",
		metric.WithDescription("Readiness by check (postgres, nats, jetstream, outbox_relay, consumer:<name>): 1 passing, 0 failing; as last checked for the gRPC health service."))
	return g
})

// observeReadiness exports the last readiness checks, labelled with the schema as the
// store gauges are, so that several services in one process (tests) stay apart; the
// returned func stops it.
func (r *Runtime) observeReadiness() (func(), error) {
	g := readyGauge()
	reg, err := telemetry.Meter().RegisterCallback(func(_ context.Context, o metric.Observer) error {
		rep := r.lastReady.Load()
		if rep == nil {
			return nil
		}
		for _, c := range rep.Checks {
			v := int64(0)
			if c.OK {
				v = 1
			}
			o.ObserveInt64(g, v, metric.WithAttributes(attribute.String("check", c.Name), attribute.String("db.schema", r.schema)))
		}
		return nil
	}, g)
	if err != nil {
		return nil, err
	}
	return func() { _ = reg.Unregister() }, nil
}

// readinessPeriod is how often the gRPC health service is brought in step with readiness.
const readinessPeriod = 2 * time.Second
