// Package telemetry sets up OpenTelemetry tracing and structured logs that carry the
// trace id.
package telemetry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Setup installs the global tracer provider and the W3C trace-context propagator. Spans
// are exported over OTLP/gRPC when OTEL_EXPORTER_OTLP_ENDPOINT is set, and appended as
// JSON lines to the file OTEL_TRACES_FILE names when that is set (`make run` has no
// collector); otherwise they are still created (so logs carry trace ids) but go nowhere.
// The returned func flushes and stops the provider.
func Setup(ctx context.Context, service string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{}))
	res, err := Resource(service)
	if err != nil {
		return nil, err
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, errors.Join(errors.New("telemetry: otlp exporter"), err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	if path := os.Getenv(TracesFileEnv); path != "" {
		exp, err := NewFileExporter(path)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// Resource describes the process as service to the trace backends (service.name).
func Resource(service string) (*resource.Resource, error) {
	return resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
}

// NewLogger returns a JSON logger whose records carry trace_id and span_id when the
// context passed to the log call has a span.
func NewLogger(w io.Writer, service string, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(traceHandler{h}).With("service", service)
}

type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(as)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}

// HeaderCarrier carries trace context in NATS message headers. It keeps the standard
// lower-case keys (traceparent, tracestate); propagation.HeaderCarrier would canonicalise
// them to Traceparent.
type HeaderCarrier map[string][]string

func (c HeaderCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c HeaderCarrier) Set(key, value string) { c[key] = []string{value} }

func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// Inject writes the trace context of ctx into headers.
func Inject(ctx context.Context, headers map[string][]string) {
	otel.GetTextMapPropagator().Inject(ctx, HeaderCarrier(headers))
}

// Extract returns ctx carrying the remote trace context found in headers.
func Extract(ctx context.Context, headers map[string][]string) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, HeaderCarrier(headers))
}
