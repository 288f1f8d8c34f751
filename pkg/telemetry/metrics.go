package telemetry

import (
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// metrics is the process's one meter provider and the registry it exports to. A process
// runs one service in production; tests run several in one process, and they share it.
var metrics struct {
	once     sync.Once
	handler  http.Handler
	provider *sdkmetric.MeterProvider
	err      error
}

// SetupMetrics installs the global meter provider, exporting to a Prometheus registry of
// its own with the Go runtime and process collectors, and returns the handler that serves
// the registry (/metrics). Every series carries the label service_name (the resource's
// service.name), so a dashboard can tell services apart whatever the scrape job is
// called. Only the first call installs; later calls return the same handler, whatever
// their service.
//
// readers are more readers of the same provider: the test kit adds one to read the
// instruments directly.
func SetupMetrics(service string, readers ...sdkmetric.Reader) (http.Handler, error) {
	metrics.once.Do(func() {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		exp, err := otelprom.New(
			otelprom.WithRegisterer(reg),
			otelprom.WithResourceAsConstantLabels(attribute.NewAllowKeysFilter(semconv.ServiceNameKey)),
		)
		if err != nil {
			metrics.err = err
			return
		}
		res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
		if err != nil {
			metrics.err = err
			return
		}
		opts := []sdkmetric.Option{sdkmetric.WithReader(exp), sdkmetric.WithResource(res)}
		for _, r := range readers {
			opts = append(opts, sdkmetric.WithReader(r))
		}
		metrics.provider = sdkmetric.NewMeterProvider(opts...)
		otel.SetMeterProvider(metrics.provider)
		zeroCounters()
		metrics.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	})
	return metrics.handler, metrics.err
}

// MetricsHandler serves the process's metrics; it installs the meter provider under the
// name "treue" when SetupMetrics was not called (tests).
func MetricsHandler() (http.Handler, error) { return SetupMetrics("treue") }

// NewLeveledLogger is NewLogger with a level that can change while the process runs.
func NewLeveledLogger(w io.Writer, service string, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(traceHandler{h}).With("service", service)
}
