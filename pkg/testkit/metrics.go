package testkit

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/treue/treue/pkg/telemetry"
)

// Metrics reads what the process's OpenTelemetry instruments recorded, through a manual
// reader installed as the global meter provider (once per test binary: instruments made
// before it bind to the first provider installed).
type Metrics struct{ reader *sdkmetric.ManualReader }

var metrics = sync.OnceValue(func() *Metrics {
	r := sdkmetric.NewManualReader()
	// The process's one provider, which also serves the services' /metrics: Main installs
	// it before any test runs, so no service installs one without this reader.
	if _, err := telemetry.SetupMetrics("treue", r); err != nil {
		panic(fmt.Sprintf("testkit: metrics: %v", err))
	}
	return &Metrics{reader: r}
})

// Reader is the manual reader of the process's meter provider.
func (m *Metrics) Reader() *sdkmetric.ManualReader { return m.reader }

// CaptureMetrics installs the reader (the first time) and returns it. Instruments are
// process-wide: a test that compares counts must not run in parallel with others that
// move them (leave out t.Parallel), and compares a count before and after.
func CaptureMetrics() *Metrics { return metrics() }

// Sum is the value of the counter (or up-down counter) named name, over the data points
// whose attributes include attrs; 0 when it recorded nothing.
func (m *Metrics) Sum(t testing.TB, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			if md.Name != name {
				continue
			}
			switch data := md.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					if hasAll(dp.Attributes, attrs) {
						total += dp.Value
					}
				}
			case metricdata.Gauge[int64]:
				for _, dp := range data.DataPoints {
					if hasAll(dp.Attributes, attrs) {
						total += dp.Value
					}
				}
			default:
				t.Fatalf("metric %s is %T, not an int64 sum or gauge", name, md.Data)
			}
		}
	}
	return total
}

func hasAll(set attribute.Set, attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}
