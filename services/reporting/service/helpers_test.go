package service_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	"github.com/treue/treue/services/reporting/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// API keys of the test callers, one per role that matters here.
const (
	keyMarketing = "test-key-marketing"
	keyAgent     = "test-key-service-agent"
	keyPOS       = "test-key-pos"
	keyAdmin     = "test-key-admin"
)

// harness is one running reporting service with its clients.
type harness struct {
	dsn      string
	ns       string
	js       jetstream.JetStream
	grpcAddr string
	httpURL  string
	// reporting calls as marketing; admin as admin.
	reporting reportingv1.ReportingServiceClient
	admin     adminv1.AdminServiceClient
}

func start(t *testing.T) *harness {
	t.Helper()
	dsn := testkit.Database(t)
	natsURL := testkit.NATS(t)
	ns := testkit.Namespace(t)
	cfg := service.Config{
		Base: svc.Base{
			DatabaseURL: dsn,
			NATSURL:     natsURL,
			Namespace:   ns,
			GRPCAddr:    "127.0.0.1:0",
			HTTPAddr:    "127.0.0.1:0",
			APIKeys: strings.Join([]string{
				"marketing:marketing:" + grpcx.HashKey(keyMarketing),
				"agent:service_agent:" + grpcx.HashKey(keyAgent),
				"till:pos:" + grpcx.HashKey(keyPOS),
				"ops:admin:" + grpcx.HashKey(keyAdmin),
			}, ","),
			StreamReplicas: 1,
			DBMaxConns:     4,
		},
		PointsShards:     4,
		DashboardRefresh: 5 * time.Second,
	}
	level := slog.LevelError
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, cancel := context.WithCancel(context.Background())
	s, err := service.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("service.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("the service did not stop within 20s")
		}
	})

	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{
		dsn:       dsn,
		ns:        ns,
		js:        js,
		grpcAddr:  s.GRPCAddr(),
		httpURL:   "http://" + s.HTTPAddr(),
		reporting: reportingv1.NewReportingServiceClient(dial(t, s.GRPCAddr(), keyMarketing)),
		admin:     adminv1.NewAdminServiceClient(dial(t, s.GRPCAddr(), keyAdmin)),
	}
}

// dial connects to addr sending key with every call; an empty key sends none.
func dial(t *testing.T, addr, key string) *grpc.ClientConn {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if key != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(grpcx.APIKeyCredentials(key)))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// publish sends an event the way the outbox relay does, with a fresh UUIDv7 id; it
// returns the id.
func (h *harness) publish(t *testing.T, subject string, msg proto.Message) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	h.publishWithID(t, subject, id, msg)
	return id
}

func (h *harness) publishWithID(t *testing.T, subject, id string, msg proto.Message) *jetstream.PubAck {
	t.Helper()
	data, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return h.publishRaw(t, subject, id, string(msg.ProtoReflect().Descriptor().FullName()), data)
}

func (h *harness) publishRaw(t *testing.T, subject, id, eventType string, data []byte) *jetstream.PubAck {
	t.Helper()
	m := nats.NewMsg(h.ns + subject)
	m.Data = data
	m.Header.Set(bus.HeaderMsgID, id)
	m.Header.Set(bus.HeaderContentType, bus.ContentTypeProto)
	m.Header.Set(bus.HeaderEventType, eventType)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := h.js.PublishMsg(ctx, m)
	if err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	return ack
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func httpGet(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}

// waitForDeadLetters waits until consumer has n dead letters and returns them.
func (h *harness) waitForDeadLetters(t *testing.T, consumer string, n int) []*adminv1.DeadLetter {
	t.Helper()
	var got []*adminv1.DeadLetter
	eventually(t, 15*time.Second, fmt.Sprintf("%d dead letters of %s", n, consumer), func() bool {
		resp, err := h.admin.ListDeadLetters(ctxT(t), &adminv1.ListDeadLettersRequest{Consumer: consumer})
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return false
			}
			t.Fatalf("ListDeadLetters: %v", err)
		}
		got = resp.GetDeadLetters()
		return len(got) >= n
	})
	return got
}

func (h *harness) streamName(name string) string { return strings.ToUpper(h.ns) + name }
