package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/treue/treue/pkg/telemetry"
)

// provider is a service's tracer provider writing to the shared trace log, as each
// service of `make run` does.
func provider(t *testing.T, file, service string) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := telemetry.NewFileExporter(file)
	if err != nil {
		t.Fatal(err)
	}
	res, err := telemetry.Resource(service)
	if err != nil {
		t.Fatal(err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(exp))
}

func TestTraceLogAndTree(t *testing.T) {
	file := filepath.Join(t.TempDir(), "traces.jsonl")
	pos, ledger := provider(t, file, "pos"), provider(t, file, "ledger")
	ctx := context.Background()

	// An unrelated trace first, then the till's purchase, consumed by the ledger, one of
	// whose statements fails.
	_, other := pos.Tracer("t").Start(ctx, "other")
	other.End()
	tillCtx, till := pos.Tracer("t").Start(ctx, "till publish")
	consumeCtx, consume := ledger.Tracer("t").Start(tillCtx, "consume ledger-pos",
		trace.WithLinks(trace.Link{SpanContext: other.SpanContext()}))
	_, query := ledger.Tracer("t").Start(consumeCtx, "query INSERT")
	query.SetStatus(codes.Error, "unique violation")
	query.End()
	consume.End()
	till.End()
	for _, tp := range []*sdktrace.TracerProvider{pos, ledger} {
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}

	var out strings.Builder
	id := till.SpanContext().TraceID().String()
	if err := run(&out, file, id, 20); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^trace ` + id + `: 3 spans, 2 services, `),
		regexp.MustCompile(`ms  pos +till publish$`),
		regexp.MustCompile(`ms    ledger +consume ledger-pos  \(links to trace ` + other.SpanContext().TraceID().String() + `\)$`),
		regexp.MustCompile(`ms      ledger +query INSERT  ERROR unique violation$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Fatalf("line %d = %q, want %s\n%s", i, lines[i], re, out.String())
		}
	}

	// The linked trace points to where it went on.
	out.Reset()
	if err := run(&out, file, other.SpanContext().TraceID().String(), 20); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "-> continued in trace "+id+": ledger consume ledger-pos\n") {
		t.Fatalf("the linked trace does not say where it went on:\n%s", out.String())
	}

	out.Reset()
	if err := run(&out, file, "", 1); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); !strings.HasPrefix(got, id) || !strings.Contains(got, `3   spans  pos "till publish"  (ledger, pos)`) {
		t.Fatalf("the latest trace:\n%s", got)
	}

	if err := run(&out, file, strings.Repeat("0", 32), 20); err == nil {
		t.Fatal("an unknown trace id is no error")
	}
	if err := run(&out, filepath.Join(t.TempDir(), "none"), "", 20); err == nil {
		t.Fatal("a missing log is no error")
	}
}
