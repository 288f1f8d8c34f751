package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TracesFileEnv names the file Setup appends finished spans to, one JSON object a line.
const TracesFileEnv = "OTEL_TRACES_FILE"

// fileExporter writes spans to a file it closes on Shutdown.
type fileExporter struct {
	*stdouttrace.Exporter
	f *os.File
}

// NewFileExporter returns an exporter that appends each finished span to path as one
// line of JSON, so that several processes can share the file and `grep <trace_id>`
// finds a whole trace across them.
func NewFileExporter(path string) (sdktrace.SpanExporter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %s: %w", TracesFileEnv, err)
	}
	// The exporter's JSON encoder writes each span and its newline in one call, and
	// O_APPEND keeps such a write whole among the other processes' writes.
	exp, err := stdouttrace.New(stdouttrace.WithWriter(f))
	if err != nil {
		f.Close()
		return nil, err
	}
	return fileExporter{Exporter: exp, f: f}, nil
}

func (e fileExporter) Shutdown(ctx context.Context) error {
	return errors.Join(e.Exporter.Shutdown(ctx), e.f.Close())
}
