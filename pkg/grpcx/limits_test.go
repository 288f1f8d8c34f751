package grpcx_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
)

// deadlines answers ListDeadLetters with the time left to the call's server-side
// deadline, or "none".
type deadlines struct {
	adminv1.UnimplementedAdminServiceServer
}

func (deadlines) ListDeadLetters(ctx context.Context, _ *adminv1.ListDeadLettersRequest) (*adminv1.ListDeadLettersResponse, error) {
	d, ok := ctx.Deadline()
	if !ok {
		return &adminv1.ListDeadLettersResponse{NextPageToken: "none"}, nil
	}
	return &adminv1.ListDeadLettersResponse{NextPageToken: time.Until(d).String()}, nil
}

func serveWithLimits(t *testing.T, l grpcx.Limits) adminv1.AdminServiceClient {
	t.Helper()
	keys, err := grpcx.ParseKeys("ops:admin:" + grpcx.HashKey("admin-key"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := grpcx.NewServer(keys, slog.New(slog.DiscardHandler), grpcx.WithLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	adminv1.RegisterAdminServiceServer(srv, deadlines{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(grpcx.APIKeyCredentials("admin-key")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return adminv1.NewAdminServiceClient(conn)
}

// TestDeadlineCap: a call without a deadline, or with a later one than the cap, runs
// under the cap; an earlier one is kept.
func TestDeadlineCap(t *testing.T) {
	t.Parallel()
	c := serveWithLimits(t, grpcx.Limits{MaxDeadline: 20 * time.Second})
	for _, tc := range []struct {
		name     string
		deadline time.Duration // 0: none
		min, max time.Duration
	}{
		// Lower bounds leave room for a slow machine; upper bounds are exact.
		{"no deadline", 0, 10 * time.Second, 20 * time.Second},
		{"a minute", time.Minute, 10 * time.Second, 20 * time.Second},
		{"two seconds", 2 * time.Second, 0, 2 * time.Second},
	} {
		ctx := context.Background()
		if tc.deadline > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tc.deadline)
			defer cancel()
		}
		resp, err := c.ListDeadLetters(ctx, &adminv1.ListDeadLettersRequest{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		left, err := time.ParseDuration(resp.GetNextPageToken())
		if err != nil {
			t.Fatalf("%s: the handler saw no deadline (%q)", tc.name, resp.GetNextPageToken())
		}
		if left <= tc.min || left > tc.max {
			t.Errorf("%s: the handler had %s left, want within (%s, %s]", tc.name, left, tc.min, tc.max)
		}
	}
}

// TestOversizedMessage: a request over the receive limit is ResourceExhausted and
// counted as a security refusal; one under it passes.
func TestOversizedMessage(t *testing.T) {
	reader := meterReader()
	c := serveWithLimits(t, grpcx.Limits{MaxRecvMsgSize: 4 << 10})

	before := refusals(t, reader, "message_too_large")
	_, err := c.ListDeadLetters(context.Background(), &adminv1.ListDeadLettersRequest{PageToken: strings.Repeat("x", 8<<10)})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("an 8 KiB request to a 4 KiB server: %v, want ResourceExhausted", err)
	}
	// The server counts when the call has ended on its side, which may be just after
	// the client has its answer.
	deadline := time.Now().Add(10 * time.Second)
	for refusals(t, reader, "message_too_large") != before+1 {
		if time.Now().After(deadline) {
			t.Fatalf("message_too_large refusals: %d after, %d before; want one more", refusals(t, reader, "message_too_large"), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Under the limit, the request reaches validation (page_token is at most 200).
	_, err = c.ListDeadLetters(context.Background(), &adminv1.ListDeadLettersRequest{PageToken: strings.Repeat("x", 2<<10)})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("a 2 KiB request: %v, want InvalidArgument from validation", err)
	}
}

// meterReader installs, once per test binary, a meter provider whose figures the tests
// read: instruments made through the global provider stay bound to the first one.
var meterReader = sync.OnceValue(func() *sdkmetric.ManualReader {
	r := sdkmetric.NewManualReader()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(r)))
	return r
})

// refusals reads treue.security.refusals{kind} from reader.
func refusals(t *testing.T, reader *sdkmetric.ManualReader, kind string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "treue.security.refusals" {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("treue.security.refusals is a %T", m.Data)
			}
			for _, dp := range sum.DataPoints {
				if v, ok := dp.Attributes.Value(attribute.Key("kind")); ok && v.AsString() == kind {
					return dp.Value
				}
			}
		}
	}
	return 0
}
